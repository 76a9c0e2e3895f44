/**
 * Microbenchmark: a UDP fan-out pass sent with one sendto per datagram, sendmmsg batches
 * (src/net/mmsg_batch.ts), and batches whose datagrams to one destination go as one UDP GSO
 * message, all from shared memory by address. D receiver sockets on loopback, each sent P datagrams
 * of B bytes per pass (a frame's packets, framed in the ring with 4-byte headers); receivers are
 * drained between passes (not timed).
 *
 *   deno run -A bench/udp_send.ts [destinations=2000] [packetsPerPass=3] [bytes=1200] [passes=200]
 */
import { addressOf, libc, LINUX } from "../src/net/libc.ts";
import { MmsgBatch } from "../src/net/mmsg_batch.ts";
import { sockaddr } from "../src/net/sockaddr.ts";

const [D, P, B, PASSES] = [2000, 3, 1200, 200].map((d, i) => Number(Deno.args[i] ?? d));
const c = libc();

function udpSocket(): { fd: number; port: number } {
  const fd = c.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK, 0);
  const { addr } = sockaddr("127.0.0.1", 0);
  if (c.bind(fd, addr, 16) < 0) throw new Error("bind failed");
  const len = new Uint32Array([28]);
  const out = new Uint8Array(28);
  c.getsockname(fd, out, len);
  return { fd, port: (out[2] << 8) | out[3] };
}

const sender = udpSocket();
const receivers = Array.from({ length: D }, () => udpSocket());
// sockaddrs in shared memory (MmsgBatch needs stable addresses); 16 bytes each.
const names = new Uint8Array(new SharedArrayBuffer(16 * D));
const nameViews = receivers.map((r, i) => {
  names.set(sockaddr("127.0.0.1", r.port).addr.subarray(0, 16), 16 * i);
  return names.subarray(16 * i, 16 * i + 16);
});
// As in a stream's ring: each packet after its 4-byte interleaved header.
const STRIDE = B + 4;
const ring = new Uint8Array(new SharedArrayBuffer(P * STRIDE));
ring.fill(0x80);
const ringAddr = addressOf(ring);
const drainBuf = new Uint8Array(65536);

function drain(): number {
  let n = 0;
  for (const r of receivers) while (c.recv(r.fd, drainBuf, BigInt(drainBuf.length), 0) > 0) n++;
  return n;
}

function perPacket(): number {
  const t = performance.now();
  for (let d = 0; d < D; d++) {
    const name = nameViews[d];
    for (let p = 0; p < P; p++) {
      c.sendtoAt(sender.fd, BigInt(ringAddr + p * STRIDE + 4), BigInt(B), LINUX.MSG_NOSIGNAL, name, 16);
    }
  }
  return performance.now() - t;
}

const namesAddr = addressOf(names);
function batched(batch: MmsgBatch): number {
  const t = performance.now();
  for (let d = 0; d < D; d++) {
    const name = namesAddr + 16 * d;
    for (let p = 0; p < P; p++) {
      const at = p * STRIDE + 4;
      if (!batch.add(ring, at, at + B, name, 16)) {
        batch.flush(sender.fd);
        batch.add(ring, at, at + B, name, 16);
      }
    }
  }
  batch.flush(sender.fd);
  return performance.now() - t;
}
const plain = new MmsgBatch();
const gso = new MmsgBatch(undefined, true);

const results: Record<string, number[]> = { sendto: [], sendmmsg: [], "gso": [] };
let received = 0;
for (let i = 0; i < PASSES; i++) {
  // Alternate, so drift (other load, CPU frequency) hits both alike.
  results.sendto.push(perPacket());
  received += drain();
  results.sendmmsg.push(batched(plain));
  received += drain();
  results.gso.push(batched(gso));
  received += drain();
}
const n = D * P;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`UDP fan-out pass: ${D} destinations x ${P} datagrams of ${B} B, ${PASSES} passes each`);
for (const [k, v] of Object.entries(results)) {
  const ms = median(v);
  console.log(
    `  ${k.padEnd(8)}  median pass ${ms.toFixed(2)} ms  ->  ${(ms * 1e6 / n).toFixed(0)} ns per datagram`,
  );
}
console.log(`  datagrams received: ${received} of ${3 * PASSES * n}`);
