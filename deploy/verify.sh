#!/usr/bin/env bash
# Checks deploy/dm-live.service with systemd-analyze verify. The unit names the installed binary,
# which a build machine does not have, so a copy pointing at a stand-in executable is verified.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' > "$tmp/dm-live"
chmod +x "$tmp/dm-live"
grep -q '^ExecStart=/usr/local/bin/dm-live ' dm-live.service
sed "s#^ExecStart=/usr/local/bin/dm-live #ExecStart=$tmp/dm-live #" dm-live.service > "$tmp/dm-live.service"
out=$(systemd-analyze verify "$tmp/dm-live.service" 2>&1) || { echo "$out"; exit 1; }
# verify exits 0 on some warnings; any line it prints is a finding.
if [ -n "$out" ]; then echo "$out"; exit 1; fi
echo "deploy/dm-live.service: systemd-analyze verify found nothing"
# The cluster drop-in: the unit with it, from a drop-in dir beside the copy (systemd reads those too).
mkdir "$tmp/dm-live.service.d"
cp dm-live.service.d/cluster.conf "$tmp/dm-live.service.d/"
out=$(systemd-analyze verify "$tmp/dm-live.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; exit 1; fi
# The drop-in's variables make a valid cluster config.
env -i $(sed -n 's/^Environment=//p' dm-live.service.d/cluster.conf) PATH="$PATH" HOME="${HOME:-/tmp}" \
  deno run -P=server ../main.ts --check-config >/dev/null 2>"$tmp/check.err" || { cat "$tmp/check.err"; exit 1; }
echo "deploy/dm-live.service.d/cluster.conf: systemd-analyze verify found nothing; its config is valid"
