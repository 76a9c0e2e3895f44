/**
 * What the benchmarks measure with, from outside the server: a process's CPU ticks and RSS
 * (/proc/PID), the machine's idle and steal time (/proc/stat), percentiles, and whether a path is
 * published (a DESCRIBE answered 200).
 */

/** Clock ticks per second of /proc's utime and stime (USER_HZ). */
export const CLK_TCK = 100;

export interface ProcSample {
  ticks: number;
  rssKiB: number;
  at: number;
}

/** The CPU ticks (user + system) and RSS of a process now, or null when it is gone. */
export function sampleProc(pid: number): ProcSample | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15; fields[0] here is field 3.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { ticks, rssKiB, at: performance.now() };
  } catch (e) {
    // Expected: the process exited (NotFound); anything else is a real error.
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Cores a process used between two samples (NaN when either is missing). */
export function cores(a: ProcSample | null | undefined, b: ProcSample | null | undefined): number {
  if (!a || !b) return NaN;
  return (b.ticks - a.ticks) / CLK_TCK / ((b.at - a.at) / 1000);
}

/** The machine's idle, steal and total ticks so far. */
export function sampleCpu(): { idle: number; steal: number; total: number } {
  const cpu = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: steal is time the hypervisor gave elsewhere.
  return { idle: cpu[3] + cpu[4], steal: cpu[7] ?? 0, total: cpu.reduce((a, b) => a + b, 0) };
}

/** The smallest sample with at least p % of the samples at or below it (NaN without samples). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Whether a DESCRIBE of `url` is answered 200: the stream is published there. */
export async function described(url: string): Promise<boolean> {
  let c: Deno.TcpConn | undefined;
  try {
    const u = new URL(url.replace(/^rtsp:/, "http:"));
    c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
    await c.write(new TextEncoder().encode(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\n`));
    const b = new Uint8Array(4096);
    const n = await c.read(b);
    return n !== null && new TextDecoder().decode(b.subarray(0, n)).startsWith("RTSP/1.0 200");
  } catch {
    // Expected while the server starts or the path is not published yet: not described.
    return false;
  } finally {
    try {
      c?.close();
    } catch {
      // Expected: already closed by the peer.
    }
  }
}
