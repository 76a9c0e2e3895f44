/**
 * Ports for test servers that cannot take port 0: the UDP range (worker w binds udp.portBase + 2w
 * for RTP and the next for RTCP, nothing reports them) and TCP ports a test must name beforehand
 * (rtsp.tunnelPort, where 0 means off; a port written into a config file).
 *
 * Race-free between parallel runs: the ports come in slots of SLOT_PORTS below the kernel's
 * ephemeral range (so no port-0 bind, of this run or anyone's, lands in one), each slot taken by an
 * exclusive lock on a file (held until released, or until the process ends, so a crashed run
 * leaves nothing behind), and proven free by binding every port of it before it is handed out.
 * What is left, another program binding one of them on purpose between that proof and the
 * server's bind, the servers' start catches (test/support/server.ts, server_process.ts): they
 * check that the server got its UDP ports and retry with a fresh slot.
 */
/** Ports per slot: the UDP pairs of up to 28 workers, and TCP ports from the slot's top down. */
export const SLOT_PORTS = 64;
/** Lowest port handed out (below it: well-known and registered services). */
const LOWEST_PORT = 10_000;
/** Where the kernels' ephemeral ranges (port-0 binds) begin, at the lowest. */
const EPHEMERAL_FROM = 32768;
/** Slots tried (locked and probed) before giving up. */
const TRIES = 50;

const LOCK_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dm-live-test-ports`;
/** Slots this process holds (should the lock be per process, as POSIX record locks are). */
const held = new Set<number>();

/** The ports of one slot, this process's until release(). */
export interface PortReservation {
  /** Even; worker w's RTP port is udpBase + 2w, its RTCP port the next. */
  readonly udpBase: number;
  /** TCP ports, free when reserved. */
  readonly tcp: readonly number[];
  /** Frees the slot (idempotent). */
  release(): void;
}

/**
 * First ports of the slots: from LOWEST_PORT up to the lowest port an ephemeral range starts at
 * (Linux's default 32768; BSD, macOS and Windows start at 49152). The kernel's own range is not
 * read: /proc/sys needs all permissions in Deno.
 */
function slotStarts(): number[] {
  const starts: number[] = [];
  for (let p = LOWEST_PORT; p + SLOT_PORTS <= EPHEMERAL_FROM; p += SLOT_PORTS) starts.push(p);
  return starts;
}

/** Takes the slot's lock file without waiting; null when another holder has it. */
function lockSlot(start: number): Deno.FsFile | null {
  if (held.has(start)) return null;
  Deno.mkdirSync(LOCK_DIR, { recursive: true });
  const f = Deno.openSync(`${LOCK_DIR}/${start}`, { read: true, write: true, create: true });
  if (f.tryLockSync(true)) return f;
  f.close();
  return null;
}

/** Whether each port can be bound now (UDP or TCP, on every address), each released at once. */
function allFree(udp: number[], tcp: number[]): boolean {
  const socks: { close(): void }[] = [];
  try {
    for (const port of udp) socks.push(Deno.listenDatagram({ hostname: "0.0.0.0", port, transport: "udp" }));
    for (const port of tcp) socks.push(Deno.listen({ hostname: "0.0.0.0", port }));
    return true;
  } catch (e) {
    // Expected: a port in use (AddrInUse), or one we may not bind (PermissionDenied).
    if (e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.PermissionDenied) return false;
    throw e;
  } finally {
    for (const h of socks) h.close();
  }
}

/**
 * Reserves UDP ports for `workers` workers and `tcp` TCP ports in one slot, locked and proven free;
 * throws, saying why, when no slot is to be had in TRIES tries.
 */
export function reservePorts(opts: { workers: number; tcp?: number }): PortReservation {
  const tcpCount = opts.tcp ?? 0;
  if (2 * opts.workers + tcpCount > SLOT_PORTS) {
    throw new Error(`${opts.workers} workers and ${tcpCount} TCP ports do not fit a slot of ${SLOT_PORTS}`);
  }
  const starts = slotStarts();
  let locked = 0;
  for (let i = 0; i < TRIES; i++) {
    const start = starts[Math.floor(Math.random() * starts.length)];
    const lock = lockSlot(start);
    if (lock === null) continue;
    locked++;
    const udp = Array.from({ length: 2 * opts.workers }, (_, k) => start + k);
    const tcp = Array.from({ length: tcpCount }, (_, k) => start + SLOT_PORTS - 1 - k);
    if (!allFree(udp, tcp)) {
      lock.close();
      continue;
    }
    held.add(start);
    let mine = true;
    return {
      udpBase: start,
      tcp,
      release() {
        if (!mine) return;
        mine = false;
        held.delete(start);
        lock.close();
      },
    };
  }
  throw new Error(
    `no free port slot in ${TRIES} tries (${locked} locked but with ports in use, the rest held by ` +
      `other runs; locks in ${LOCK_DIR})`,
  );
}

/**
 * Null when the server holds all its workers' UDP ports, else what is wrong. Proof: a datagram to
 * each port from a sender no session expects is counted as ignored by that port's worker
 * (`ignored` reads every worker's count); a port another program holds never counts it.
 */
export async function udpPortsHeld(
  udpBase: number,
  workers: number,
  ignored: () => Promise<Map<number, number>>,
  timeoutMs = 5000,
): Promise<string | null> {
  const before = await ignored();
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    for (let k = 0; k < 2 * workers; k++) {
      try {
        await sock.send(new Uint8Array(4), { transport: "udp", hostname: "127.0.0.1", port: udpBase + k });
      } catch (e) {
        // Expected when nothing listens there: an earlier datagram's ICMP "port unreachable".
        if (e instanceof Deno.errors.ConnectionRefused) return `nothing listens on UDP ${udpBase + k}`;
        throw e;
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await ignored();
      const missing = Array.from({ length: workers }, (_, w) => w).filter((w) =>
        (now.get(w) ?? 0) - (before.get(w) ?? 0) < 2
      );
      if (missing.length === 0) return null;
      if (Date.now() > deadline) {
        return `worker(s) ${missing.join(", ")} did not get datagrams sent to their ports ` +
          missing.map((w) => `${udpBase + 2 * w}-${udpBase + 2 * w + 1}`).join(", ");
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sock.close();
  }
}
