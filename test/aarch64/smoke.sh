#!/usr/bin/env bash
# Smoke test of the real server on aarch64, under qemu user-mode emulation on an x86_64 host.
#
# Runs main.ts with the aarch64 build of Deno (npm package @deno/linux-arm64-glibc) under
# qemu-aarch64-static, on the FFI socket backend, publishes a test stream to it with the native
# ffmpeg, plays it with the native ffprobe, checks the first video frame is a keyframe and that
# SIGTERM ends the server with status 0.
#
# Installs what it needs when missing: qemu-user-static, libc6-arm64-cross and
# libgcc-s1-arm64-cross (Debian; the aarch64 loader and libraries qemu is pointed at with
# QEMU_LD_PREFIX, no binfmt needed), and the aarch64 Deno into a cache dir
# (SMOKE_AARCH64_CACHE, default ~/.cache/dm-live/aarch64; kept across runs, with the DENO_DIR of
# the emulated Deno). Never skips: anything missing fails the test, saying what.
#
# Ends with a Deno-style summary line (`ok | 1 passed | 0 failed`, or FAILED) for .ci/run.
# Usage: bash test/aarch64/smoke.sh     (env: SMOKE_START_TIMEOUT=300, SMOKE_PLAY_TIMEOUT=180 seconds)
set -uo pipefail
cd "$(dirname "$0")/../.." || { echo "FAILED | 0 passed | 1 failed"; exit 1; }

DENO_VERSION=2.9.6
CACHE=${SMOKE_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dm-live/aarch64}
DENO_ARM64="$CACHE/node_modules/@deno/linux-arm64-glibc/deno"
SYSROOT=/usr/aarch64-linux-gnu
APT_PACKAGES=(qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross)
START_TIMEOUT=${SMOKE_START_TIMEOUT:-300}
PLAY_TIMEOUT=${SMOKE_PLAY_TIMEOUT:-180}
STREAM=live/arm

say() { printf '[aarch64 smoke] %s\n' "$*"; }
T0=$(date +%s)
elapsed() { echo "$(($(date +%s) - T0))s"; }

WORK=$(mktemp -d)
SERVER_PID=""
PUB_PID=""
cleanup() {
  [ -n "$PUB_PID" ] && kill "$PUB_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  say "FAILED: $*"
  if [ -s "$WORK/server.log" ]; then
    say "server log:"
    sed 's/^/    /' "$WORK/server.log" | tail -40
  fi
  if [ -s "$WORK/publish.log" ]; then
    say "publisher log:"
    sed 's/^/    /' "$WORK/publish.log" | tail -15
  fi
  echo "aarch64 smoke test ... FAILED ($(elapsed))"
  echo "FAILED | 0 passed | 1 failed"
  exit 1
}

# --- what qemu needs ---------------------------------------------------------------------------
QEMU=$(command -v qemu-aarch64-static || true)
if [ -z "$QEMU" ] || [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$SYSROOT/lib/libgcc_s.so.1" ]; then
  say "installing ${APT_PACKAGES[*]} (apt-get)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}"; } >"$WORK/apt.log" 2>&1 ||
    { tail -5 "$WORK/apt.log"; fail "apt-get install ${APT_PACKAGES[*]} failed: no qemu or aarch64 libc to run the aarch64 deno"; }
  QEMU=$(command -v qemu-aarch64-static || true)
fi
[ -n "$QEMU" ] || fail "qemu-aarch64-static not found after installing qemu-user-static"
[ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] || fail "no aarch64 glibc loader in $SYSROOT/lib (libc6-arm64-cross)"
[ -e "$SYSROOT/lib/libgcc_s.so.1" ] || fail "no aarch64 libgcc_s in $SYSROOT/lib (libgcc-s1-arm64-cross)"
for bin in ffmpeg ffprobe npm; do
  command -v "$bin" >/dev/null || fail "$bin not found (native ffmpeg/ffprobe publish and play, npm fetches the aarch64 deno)"
done

# The aarch64 deno under qemu, the dynamic loader and libraries taken from $SYSROOT. A command
# (env execs qemu), not a function: started with &, its pid is qemu's, which forwards signals.
DENO_ARM64_CMD=(env QEMU_LD_PREFIX="$SYSROOT" DENO_DIR="$CACHE/deno_dir" DENO_NO_UPDATE_CHECK=1 "$QEMU" "$DENO_ARM64")

# --- the aarch64 deno ----------------------------------------------------------------------------
want="deno ${DENO_VERSION} (stable, release, aarch64-unknown-linux-gnu)"
if ! "${DENO_ARM64_CMD[@]}" --version 2>/dev/null | grep -qF "$want"; then
  say "installing @deno/linux-arm64-glibc@${DENO_VERSION} into $CACHE (npm)"
  mkdir -p "$CACHE" || fail "cannot create $CACHE"
  # --force: npm refuses a package for another CPU (EBADPLATFORM) otherwise.
  npm install --prefix "$CACHE" --no-save --no-audit --no-fund --ignore-scripts --force \
    "@deno/linux-arm64-glibc@${DENO_VERSION}" >"$WORK/npm.log" 2>&1 ||
    { tail -5 "$WORK/npm.log"; fail "npm install @deno/linux-arm64-glibc@${DENO_VERSION} failed"; }
fi
version=$("${DENO_ARM64_CMD[@]}" --version 2>&1 | head -1)
[ "$version" = "$want" ] || fail "the aarch64 deno does not run under $QEMU: '$version' (want '$want')"
say "$version under $QEMU ($(elapsed))"

# --- the server ----------------------------------------------------------------------------------
udp_base=$((40000 + 2 * (RANDOM % 4000)))
"${DENO_ARM64_CMD[@]}" run -P=server --v8-flags=--max-semi-space-size=2 main.ts --address 127.0.0.1 --port 0 \
  --set net.backend=ffi --set "udp.portBase=${udp_base}" --set api.port=0 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
start=$(date +%s)
port=""
while [ -z "$port" ]; do
  port=$(sed -nE 's/.*listening on rtsp:\/\/[^ ]+:([0-9]+) with.*/\1/p' "$WORK/server.log" | head -1)
  [ -n "$port" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID"
    status=$?
    SERVER_PID=""
    fail "the server exited (status $status) before listening"
  fi
  [ $(($(date +%s) - start)) -ge "$START_TIMEOUT" ] && fail "the server did not listen within ${START_TIMEOUT}s"
  sleep 0.5
done
started=$(($(date +%s) - start))
line=$(grep -m1 'listening on rtsp://' "$WORK/server.log")
say "server up in ${started}s: ${line#* INF }"
grep -q 'ffi sockets on aarch64' <<<"$line" || fail "the server did not say it runs ffi sockets on aarch64"

# --- publish and play ------------------------------------------------------------------------------
url="rtsp://127.0.0.1:${port}/${STREAM}"
timeout $((PLAY_TIMEOUT + 30)) ffmpeg -hide_banner -loglevel error -nostdin -re \
  -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440 \
  -c:v libx264 -preset veryfast -tune zerolatency -profile:v main -g 30 -x264-params repeat-headers=1 \
  -c:a aac -f rtsp -rtsp_transport tcp "$url" >"$WORK/publish.log" 2>&1 &
PUB_PID=$!
play_start=$(date +%s)
frames=""
tries=0
while :; do
  tries=$((tries + 1))
  left=$((PLAY_TIMEOUT - ($(date +%s) - play_start)))
  [ "$left" -le 0 ] && fail "no frames played from $url within ${PLAY_TIMEOUT}s ($tries tries; last: $(tail -1 "$WORK/probe.err" 2>/dev/null))"
  frames=$(timeout "$left" ffprobe -v error -rtsp_transport tcp -select_streams v:0 -show_frames \
    -show_entries frame=key_frame,pict_type -read_intervals "%+#5" -of csv "$url" 2>"$WORK/probe.err")
  [ -n "$frames" ] && break
  kill -0 "$PUB_PID" 2>/dev/null || fail "the publisher exited before a viewer got frames"
  sleep 1 # the stream is not published yet (404): try again
done
played=$(($(date +%s) - play_start))
# One line a frame: frame,KEY_FRAME,PICT_TYPE, then its side data (x264's SEI) on the same line.
frames=$(grep '^frame,' <<<"$frames" | cut -d, -f1-3)
say "played in ${played}s (${tries} tries): $(tr '\n' ' ' <<<"$frames")"
first=$(head -1 <<<"$frames")
[ "$first" = "frame,1,I" ] || fail "the first video frame is '$first', not a keyframe (frame,1,I)"
[ "$(wc -l <<<"$frames")" -ge 5 ] || fail "fewer than 5 frames played"

kill "$PUB_PID" 2>/dev/null
wait "$PUB_PID" 2>/dev/null
PUB_PID=""

# --- stop ----------------------------------------------------------------------------------------
stop_start=$(date +%s)
kill -TERM "$SERVER_PID"
# The server bounds its shutdown (SHUTDOWN_BOUND_MS); emulated, give it 120 s before SIGKILL.
while kill -0 "$SERVER_PID" 2>/dev/null && [ $(($(date +%s) - stop_start)) -lt 120 ]; do sleep 0.2; done
kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID"
wait "$SERVER_PID"
status=$?
SERVER_PID=""
stopped=$(($(date +%s) - stop_start))
[ "$status" -eq 0 ] || fail "the server exited with status $status after SIGTERM (${stopped}s; 137: killed after 120s)"
grep -q 'SIGTERM: shutting down' "$WORK/server.log" || fail "the server did not log its SIGTERM shutdown"
if grep -E ' ERR ' "$WORK/server.log" >"$WORK/errors.log"; then
  fail "the server logged errors: $(head -3 "$WORK/errors.log")"
fi

say "stopped with status 0 in ${stopped}s"
echo "aarch64 smoke test (start ${started}s, play ${played}s, stop ${stopped}s) ... ok ($(elapsed))"
echo "ok | 1 passed | 0 failed"
