/**
 * A TCP viewer's write source: its ring cursor's chunks with its Sender Reports in between, as
 * interleaved frames of their own (so never inside an RTP frame), through the same write queue and
 * its limits: a report is only built when the socket took everything before it, so a viewer that
 * does not read never has more than one waiting.
 *
 * @module
 */
import type { ChunkSource } from "../net/write_queue.ts";
import type { RingViewer } from "./ring_viewer.ts";
import type { SenderReports } from "./sender_reports.ts";
import { passClock } from "../stream/pass_clock.ts";

export class ReportingSource implements ChunkSource {
  readonly viewer: RingViewer;
  readonly #reports: SenderReports;
  readonly #channels: ReadonlyMap<number, number>;
  chunkStart = 0;
  chunkEnd = 0;
  /** The reports are the chunk being written. */
  #reportInFlight = false;
  /** A ring chunk held back while the reports its packets need go first. */
  #held: Uint8Array | null = null;
  #heldStart = 0;
  #heldEnd = 0;

  /** channels: track → the RTP interleaved channel the viewer chose (reports go on the next one). */
  constructor(viewer: RingViewer, reports: SenderReports, channels: ReadonlyMap<number, number>) {
    this.viewer = viewer;
    this.#reports = reports;
    this.#channels = channels;
  }

  // hot path: no allocation, no clock call (passClock); reports a few times a minute
  nextChunk(): Uint8Array | null {
    if (this.#held !== null) {
      const c = this.#held;
      this.#held = null;
      this.chunkStart = this.#heldStart;
      this.chunkEnd = this.#heldEnd;
      return c;
    }
    const r = this.#reports;
    if (r.due(passClock.now) && this.#takeReports()) return r.buffer;
    const v = this.viewer;
    const c = v.nextChunk();
    if (c === null) return null;
    if (r.firstOwed()) {
      // The chunk may have a track's first packets: its first report goes before them.
      this.#held = c;
      this.#heldStart = v.chunkStart;
      this.#heldEnd = v.chunkEnd;
      if (this.#takeReports()) return r.buffer;
      this.#held = null;
    }
    this.chunkStart = v.chunkStart;
    this.chunkEnd = v.chunkEnd;
    return c;
  }

  chunkWritten(): void {
    if (this.#reportInFlight) {
      this.#reportInFlight = false;
      this.#reports.release();
      return;
    }
    this.viewer.chunkWritten();
  }

  #takeReports(): boolean {
    const n = this.#reports.writeInterleaved(performance.now(), this.#channels);
    if (n === 0) return false;
    this.#reportInFlight = true;
    this.chunkStart = 0;
    this.chunkEnd = n;
    return true;
  }
}
