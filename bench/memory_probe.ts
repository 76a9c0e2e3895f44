/**
 * Where a viewer's memory goes: an in-process dm-live (one worker) with a synthetic publisher, and
 * viewers added in steps from a load_client process. After each step prints the process RSS (and
 * its growth per viewer) and the worker's V8 heap and external memory.
 *
 *   deno run -A [--v8-flags=--expose-gc] bench/memory_probe.ts 1000,3000,6000
 *
 * With --expose-gc the worker collects garbage before reporting, so its heap figure is live objects
 * only; without, it includes garbage not yet collected.
 */
import { DEFAULT_CONFIG, withOverrides } from "../src/config.ts";
import { Logger } from "../src/log/logger.ts";
import { startServer } from "../src/cluster/cluster.ts";
import { startPublisher } from "../test/support/synthetic_publisher.ts";
import type { LoadPlan } from "./load_client.ts";

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]);
const MiB = (b: number) => (b / 1048576).toFixed(1);

const steps = (Deno.args[0] ?? "1000,2000,4000").split(",").map(Number);
const config = withOverrides(DEFAULT_CONFIG, {
  "rtsp.port": 0,
  workers: 1,
  "log.level": "error",
  "net.backend": Deno.env.get("DM_LIVE_NET_BACKEND") ?? "auto",
});
const server = await startServer(config, new Logger("error"));
const pub = await startPublisher(server.port, "probe");
// ~30 frames/s of small packets: the stream's bitrate hardly matters for memory.
const tick = setInterval(() => pub.sendFrames(1, 30, 2, 300), 33);
await new Promise((r) => setTimeout(r, 1500));
const base = rssKiB();
const loads: Deno.ChildProcess[] = [];
let prev = 0;
for (const n of steps) {
  const now = Date.now();
  const plan: LoadPlan = {
    urls: [`rtsp://127.0.0.1:${server.port}/probe`],
    viewers: n - prev,
    rampStartAt: now,
    rampEndAt: now + 3000,
    steadyStartAt: now + 3_600_000,
    steadyEndAt: now + 3_600_001,
    joiners: 0,
    keepAliveMs: 20000,
  };
  const args = ["run", "-A", new URL("./load_client.ts", import.meta.url).pathname, JSON.stringify(plan)];
  loads.push(new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" }).spawn());
  prev = n;
  await new Promise((r) => setTimeout(r, 6000));
  const [w] = await server.stats(true);
  const rss = rssKiB();
  const per = ((rss - base) / Math.max(1, w.viewersPlaying)).toFixed(1);
  console.log(
    `viewers ${w.viewersPlaying}: RSS ${MiB(rss * 1024)} MiB (+${per} KiB/viewer), worker heap used ` +
      `${MiB(w.heapUsed)} MiB of ${MiB(w.heapTotal)} MiB, external ${MiB(w.external)} MiB`,
  );
}
for (const l of loads) l.kill("SIGKILL");
clearInterval(tick);
pub.close();
await server.stop();
Deno.exit(0);
