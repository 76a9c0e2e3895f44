import assert from "node:assert/strict";
import { parseRtcpCompound, type RtcpPacket } from "./compound.ts";
import { writeSenderReport } from "./sender_report.ts";
import { writeReceiverReport } from "./receiver_report.ts";
import { SDES_ITEM, writeSdes } from "./sdes.ts";
import { writeBye } from "./bye.ts";

const block = {
  ssrc: 0x71de0,
  fractionLost: 3,
  cumulativeLost: 12,
  highestSeq: 0x10010,
  jitter: 45,
  lastSr: 0x1234abcd,
  delaySinceLastSr: 999,
};

/** SR + SDES, then RR + APP + SDES + BYE: what senders and receivers send. */
function compound(): { bytes: Uint8Array; packets: RtcpPacket[] } {
  const buf = new Uint8Array(512);
  const sr = {
    ssrc: 5,
    ntpSeconds: 3,
    ntpFraction: 4,
    rtpTimestamp: 5,
    packetCount: 6,
    octetCount: 7,
    reports: [],
  };
  const rr = { ssrc: 9, reports: [block] };
  const chunks = [{ ssrc: 5, items: [{ type: SDES_ITEM.CNAME, text: "cam" }] }];
  let n = writeSenderReport(sr, buf, 0);
  n += writeSdes(chunks, buf, n);
  n += writeReceiverReport(rr, buf, n);
  buf.set([0x80, 204, 0, 2, 0, 0, 0, 5, 0x61, 0x62, 0x63, 0x64], n); // APP "abcd": skipped
  n += 12;
  n += writeBye({ ssrcs: [5], reason: "done" }, buf, n);
  return {
    bytes: buf.slice(0, n),
    packets: [
      { type: "sr", report: sr },
      { type: "sdes", chunks },
      { type: "rr", report: rr },
      { type: "bye", bye: { ssrcs: [5], reason: "done" } },
    ],
  };
}

Deno.test("parseRtcpCompound() reads SR, SDES, RR and BYE in order and skips APP by its length", () => {
  const { bytes, packets } = compound();
  assert.deepEqual(parseRtcpCompound(bytes, 0, bytes.length), packets);
  // At an offset inside a larger buffer, as in a read buffer.
  const wrapped = new Uint8Array(bytes.length + 10);
  wrapped.set(bytes, 7);
  assert.deepEqual(parseRtcpCompound(wrapped, 7, 7 + bytes.length), packets);
});

Deno.test("parseRtcpCompound() gives null for bytes that are not RTCP", async (t) => {
  const { bytes } = compound();
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["version 1", Uint8Array.from(bytes, (b, i) => (i === 0 ? 0x40 : b))],
    ["a length past the end", Uint8Array.from(bytes, (b, i) => (i === 3 ? 200 : b))],
    ["trailing bytes", Uint8Array.of(...bytes, 0x80, 201)],
    ["an RTP packet", Uint8Array.of(0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1)],
  ];
  for (const [name, b] of cases) {
    await t.step(name, () => assert.equal(parseRtcpCompound(b, 0, b.length), null));
  }
});

Deno.test("parseRtcpCompound() skips a malformed packet and keeps the rest", () => {
  // An RR whose count claims 2 blocks in a packet with room for 1, then a good RR.
  const buf = new Uint8Array(64);
  let n = writeReceiverReport({ ssrc: 1, reports: [block] }, buf, 0);
  buf[0] = 0x82;
  n += writeReceiverReport({ ssrc: 2, reports: [] }, buf, n);
  assert.deepEqual(parseRtcpCompound(buf, 0, n), [{ type: "rr", report: { ssrc: 2, reports: [] } }]);
});

Deno.test("parseRtcpCompound() never throws on mutated input; what it reads re-serializes to the same", () => {
  const { bytes } = compound();
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const b = bytes.slice(0, 1 + rand(bytes.length));
    for (let k = 1 + rand(4); k > 0; k--) b[rand(b.length)] = rand(256);
    const out = parseRtcpCompound(b, 0, b.length);
    if (out === null) continue;
    parsed++;
    for (const p of out) {
      if (p.type !== "sr" && p.type !== "rr") continue;
      const again = new Uint8Array(600);
      const n = p.type === "sr"
        ? writeSenderReport(p.report, again, 0)
        : writeReceiverReport(p.report, again, 0);
      assert.deepEqual(parseRtcpCompound(again, 0, n), [p]);
    }
  }
  assert.ok(parsed > 0, "some mutations are still RTCP");
});
