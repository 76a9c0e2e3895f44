import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import type { RunOnReadyConfig } from "../paths/path_config.ts";
import { ReadyCommands, readyEnv } from "./ready_commands.ts";

/** ReadyCommands whose paths all run `command`, and every log line it wrote. */
function setup(command: string, restart = true, killAfterMs = 2000) {
  const lines: string[] = [];
  const cfg: RunOnReadyConfig = { command, restart };
  const rc = new ReadyCommands(new Logger("debug", "", (_l, line) => lines.push(line)), {
    commandFor: (path) => path.startsWith("none/") ? undefined : cfg,
    env: (path) => readyEnv("0.0.0.0", 8554, path),
    killAfterMs,
  });
  const waitFor = async (re: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of lines) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (Date.now() > deadline) throw new Error(`never logged ${re}:\n${lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { rc, lines, waitFor };
}

/** Whether a process runs (not gone, not a zombie), as ps sees it (/proc needs --allow-all). */
const alive = async (pid: number) => {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return out.success && stat !== "" && !stat.startsWith("Z");
};

Deno.test("readyEnv: the path on loopback when listening everywhere, else on the listen address", () => {
  assert.deepEqual(readyEnv("0.0.0.0", 8554, "cams/a"), {
    RTSP_PATH: "cams/a",
    RTSP_PORT: "8554",
    RTSP_URL: "rtsp://127.0.0.1:8554/cams/a",
  });
  assert.equal(readyEnv("::", 1, "x").RTSP_URL, "rtsp://[::1]:1/x");
  assert.equal(readyEnv("10.0.0.5", 1, "x").RTSP_URL, "rtsp://10.0.0.5:1/x");
  assert.equal(readyEnv("fd00::5", 1, "x").RTSP_URL, "rtsp://[fd00::5]:1/x");
});

Deno.test("ReadyCommands: the command runs with the path in its environment, its output logged; the stream's end stops it and its group", async () => {
  const { rc, waitFor } = setup(
    'printf "env %s %s %s\\n\\033[31mred\\n" "$RTSP_PATH" "$RTSP_URL" "$RTSP_PORT"; sleep 30 & echo "bg $!"; wait',
  );
  rc.ready("cams/a", 7);
  rc.ready("none/b", 8);
  await waitFor(/\[path cams\/a\] \[runOnReady\] env cams\/a rtsp:\/\/127\.0\.0\.1:8554\/cams\/a 8554$/);
  await waitFor(/\[runOnReady\] \\x1b\[31mred$/);
  const bg = Number((await waitFor(/\[runOnReady\] bg (\d+)$/))[1]);
  assert.equal(await alive(bg), true);
  assert.deepEqual(rc.counters, { running: 1, starts: 1, restarts: 0 });
  rc.ended("cams/a", 6);
  assert.equal(rc.counters.running, 1, "another stream's end is not this one's");
  rc.ended("cams/a", 7);
  await waitFor(/\[runOnReady\] stopping pid \d+: stream 7 ended/);
  await waitFor(/\[runOnReady\] stopped: exited \(killed by SIGTERM\)/);
  assert.equal(rc.counters.running, 0);
  assert.equal(await alive(bg), false, "the shell's background job was stopped with it");
  await rc.stopAll();
});

Deno.test("ReadyCommands: a command that exits while the stream lives is started again after the backoff", async () => {
  const { rc, waitFor, lines } = setup("echo run; exit 3");
  rc.ready("cams/a", 1);
  await waitFor(/exited \(exit code 3\) while the stream lives; starting it again in 1 s/);
  await waitFor(/starting it again in 2 s/, 3000);
  assert.equal(lines.filter((l) => /\[runOnReady\] run$/.test(l)).length, 2);
  assert.deepEqual(rc.counters, { running: 0, starts: 2, restarts: 1 });
  await rc.stopAll();
  await new Promise((r) => setTimeout(r, 2200));
  assert.equal(rc.counters.starts, 2, "no restart after the stop");
});

Deno.test("ReadyCommands: runOnReadyRestart false leaves an exited command down", async () => {
  const { rc, waitFor } = setup("exit 0", false);
  rc.ready("cams/a", 1);
  await waitFor(
    /exited \(exit code 0\) while the stream lives; runOnReadyRestart is false: not started again/,
  );
  await new Promise((r) => setTimeout(r, 1300));
  assert.deepEqual(rc.counters, { running: 0, starts: 1, restarts: 0 });
  rc.ended("cams/a", 1);
  await rc.stopAll();
});

Deno.test("ReadyCommands: a child that ignores SIGTERM is killed after the bound", async () => {
  const { rc, waitFor } = setup("trap '' TERM; echo up; sleep 30", true, 300);
  rc.ready("cams/a", 1);
  await waitFor(/\[runOnReady\] up$/);
  const t0 = performance.now();
  await rc.stopAll();
  const took = performance.now() - t0;
  await waitFor(/did not exit within 300 ms of SIGTERM: SIGKILL/);
  await waitFor(/stopped: exited \(killed by SIGKILL\)/);
  assert.ok(took >= 290 && took < 2000, `stopAll took ${took} ms`);
  rc.ready("cams/b", 2);
  assert.equal(rc.counters.starts, 1, "nothing starts after stopAll");
});

Deno.test("ReadyCommands: a path's next stream starts its command once the last one's child has exited", async () => {
  const { rc, waitFor, lines } = setup(
    "trap 'sleep 0.3; echo bye; exit 0' TERM; echo hi; while :; do sleep 0.05; done",
  );
  rc.ready("cams/a", 1);
  await waitFor(/\[runOnReady\] hi$/);
  rc.ended("cams/a", 1);
  rc.ready("cams/a", 2);
  await waitFor(/started, pid/);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lines.filter((l) => /started, pid/.test(l)).length, 1, "the second waits for the first");
  await waitFor(/\[runOnReady\] hi$/);
  const deadline = Date.now() + 5000;
  while (lines.filter((l) => /started, pid/.test(l)).length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const order = lines.filter((l) => /bye$|stopped|started, pid/.test(l)).map((l) => l.replace(/.*\] /, ""));
  assert.deepEqual(order.map((l) => l.replace(/\d+/g, "N")), [
    "started, pid N",
    "bye",
    "stopped: exited (exit code N)",
    "started, pid N",
  ]);
  await rc.stopAll();
});
