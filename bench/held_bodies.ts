/**
 * `deno run -A bench/held_bodies.ts [DIR] [N]`: what unfinished request bodies cost the server. Starts
 * the dm-live in DIR (default: this checkout), opens N connections (default 200) from one address
 * that each announce a 131,072-byte body (limits.maxBodyBytes) and send 64 KiB of it, then closes
 * them; prints the server's RSS before, while held, and after (issue 13 #6:
 * limits.maxPendingBodyBytesPerAddress). Pass another checkout's DIR to compare.
 */
const ROOT = new URL("../", import.meta.url).pathname;
const dir = Deno.args[0] ?? ROOT;
const count = Number(Deno.args[1] ?? 200);
const port = 30000 + Math.floor(Math.random() * 1000);
const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "-P=server", `${dir}/main.ts`, "--port", String(port), "--log-level", "error"].concat(
    ["--set", "udp.portBase=0", "--set", "api.enabled=false"],
  ),
  cwd: dir,
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  for (let i = 0; i < 150; i++) {
    const up = await Deno.connect({ port }).then((c) => (c.close(), true), () => false);
    if (up) break;
    await sleep(100);
  }
  await sleep(1000);
  const before = rssKiB(server.pid);
  const conns: Deno.TcpConn[] = [];
  const part = new Uint8Array(65536).fill(0x61);
  for (let i = 0; i < count; i++) {
    const c = await Deno.connect({ port });
    conns.push(c);
    const head = `ANNOUNCE rtsp://127.0.0.1:${port}/b${i} RTSP/1.0\r\nCSeq: 1\r\n` +
      `Content-Type: application/sdp\r\nContent-Length: 131072\r\n\r\n`;
    try {
      await c.write(new TextEncoder().encode(head));
      await c.write(part);
    } catch {
      // closed by the server
    }
  }
  await sleep(2000);
  const held = rssKiB(server.pid);
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // closed by the server
    }
  }
  await sleep(3000);
  const after = rssKiB(server.pid);
  const mib = (k: number) => (k / 1024).toFixed(1);
  console.log(
    `${dir}: ${count} connections: RSS before ${mib(before)} MiB, held ${mib(held)} MiB (+${
      ((held - before) / count).toFixed(0)
    } KiB per connection), after closing ${mib(after)} MiB (+${mib(after - before)} MiB)`,
  );
} finally {
  server.kill("SIGKILL");
  await server.status;
}
