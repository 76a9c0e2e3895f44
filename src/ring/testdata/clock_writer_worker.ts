/// <reference lib="deno.worker" />
// Writes a track's clock mapping over and over from another thread, as a publisher's worker does.
// Every mapping it writes satisfies: fraction = seconds * 3, RTP = seconds * 7 (mod 2^32).
import { writeClockMapping } from "../track_clock.ts";
import { CLOCK_SOURCE_SERVER, RING_HEADER_WORDS } from "../ring_layout.ts";

self.onmessage = (e: MessageEvent) => {
  const { sab, writes } = e.data as { sab: SharedArrayBuffer; writes: number };
  const header = new Int32Array(sab, 0, RING_HEADER_WORDS);
  self.postMessage("ready");
  for (let i = 1; i <= writes; i++) {
    writeClockMapping(header, 1, i, (i * 3) >>> 0, (i * 7) >>> 0, CLOCK_SOURCE_SERVER);
  }
  self.postMessage("done");
};
