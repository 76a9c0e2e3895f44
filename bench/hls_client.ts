/**
 * One HLS load-generator process: `clients` low-latency HLS players (bench/hls.ts starts these as
 * bench/fanout.ts starts its RTSP load processes), each as hls.js in low-latency mode: the
 * multivariant playlist, the media playlist, the init section, then from PART-HOLD-BACK behind the
 * end (back to an independent part) every part in order, while a blocking playlist reload
 * (`_HLS_msn`/`_HLS_part` of the part after the last listed one) waits for the next. Each player has
 * its own HTTP connections (a Deno.HttpClient of its own: a playlist and a part may be in flight at
 * once). Counted in the steady window: part bytes and parts received, playlists, and per part the
 * time from the playlist that first listed it arriving to its last byte, from its end as the
 * playlist dates it (EXT-X-PROGRAM-DATE-TIME plus the parts before it) to its last byte, and from
 * the send stamp of its newest video frame (bench/stamped_publisher.ts) to its last byte. Every
 * answer that is not 2xx and every failed request is counted by kind. Prints one JSON line.
 *
 * HTTP/1.1 is spoken here on Deno.connect sockets (keep-alive, Content-Length or chunked bodies),
 * not with fetch(): fetch cost the load process ~240 µs of CPU per request, which at 500 players
 * (5,000 requests a second) would have taken the cores the server is measured on.
 */
import { epochMs, STAMP_MAGIC } from "./stamped_publisher.ts";
import {
  blockingQuery,
  type ClientPlaylist,
  firstVariantUri,
  type ListedPart,
  newestStamp,
  parseClientPlaylist,
  PartTracker,
  startPartIndex,
} from "./hls_playlist.ts";

/** What the orchestrator (bench/hls.ts) asks of this process; times are epoch ms. */
export interface HlsLoadPlan {
  /** Multivariant playlist URLs; player i plays urls[i % urls.length]. */
  urls: string[];
  clients: number;
  /** Players start evenly spread over [rampStartAt, rampEndAt). */
  rampStartAt: number;
  rampEndAt: number;
  steadyStartAt: number;
  steadyEndAt: number;
}

/** What one process measured (times in ms; samples are of parts received in the steady window). */
export interface HlsLoadReport {
  clients: number;
  /** Players that got their init section. */
  started: number;
  partBytes: number;
  parts: number;
  playlistBytes: number;
  playlists: number;
  /** The playlist that first listed a part arrived -> the part's last byte. */
  listedToReceivedMs: number[];
  /** The part's end as dated by the playlist -> its last byte. */
  pdtEndToReceivedMs: number[];
  /** The part's end as dated by the playlist -> the playlist listing it arrived. */
  pdtEndToListedMs: number[];
  /** The send stamp of the part's newest video frame -> the part's last byte (stamped publisher). */
  stampToReceivedMs: number[];
  /** Each player's longest wait between two parts in the steady window. */
  maxPartGapMs: number[];
  /** Playlists whose new parts did not follow the last known one (parts never listed to the player). */
  jumps: number;
  /** Answers that were not 2xx ("part 404") and failed requests ("playlist failed"), by kind. */
  errors: Record<string, number>;
  /** The first few error messages, with the URL. */
  errorSamples: string[];
}

const report: HlsLoadReport = {
  clients: 0,
  started: 0,
  partBytes: 0,
  parts: 0,
  playlistBytes: 0,
  playlists: 0,
  listedToReceivedMs: [],
  pdtEndToReceivedMs: [],
  pdtEndToListedMs: [],
  stampToReceivedMs: [],
  maxPartGapMs: [],
  jumps: 0,
  errors: {},
  errorSamples: [],
};

let plan: HlsLoadPlan;
const stop = new AbortController();
const inSteady = (t: number) => t >= plan.steadyStartAt && t < plan.steadyEndAt;
const round = (x: number) => Math.round(x * 10) / 10;

function error(kind: string, detail: string): void {
  if (stop.signal.aborted) return;
  report.errors[kind] = (report.errors[kind] ?? 0) + 1;
  if (report.errorSamples.length < 10) report.errorSamples.push(`${kind}: ${detail}`.slice(0, 300));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A part waiting to be fetched, with when the playlist listing it arrived. */
interface Queued {
  part: ListedPart;
  listedAt: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Every open connection of the process, closed at the stop (which ends their pending reads). */
const openConns = new Set<Deno.TcpConn>();

/** An HTTP answer: status and the whole body. */
export interface HttpAnswer {
  status: number;
  body: Uint8Array;
}

/** One keep-alive HTTP/1.1 connection: GETs one after the other. */
export class HttpConn {
  #conn: Deno.TcpConn | null = null;
  #buf = new Uint8Array(16 * 1024);
  #start = 0;
  #end = 0;

  async get(url: URL): Promise<HttpAnswer> {
    for (let attempt = 0;; attempt++) {
      let fresh = false;
      if (this.#conn === null) {
        this.#conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 80) });
        this.#conn.setNoDelay(true);
        openConns.add(this.#conn);
        this.#start = this.#end = 0;
        fresh = true;
      }
      try {
        const req = enc.encode(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
        for (let off = 0; off < req.length;) off += await this.#conn.write(req.subarray(off));
        return await this.#answer();
      } catch (e) {
        this.close();
        // A kept-alive connection the server had closed: once more, on a new one.
        if (fresh || attempt > 0 || stop.signal.aborted) throw e;
      }
    }
  }

  close(): void {
    if (this.#conn === null) return;
    openConns.delete(this.#conn);
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    this.#conn = null;
  }

  /** Reads more into the buffer (compacted, grown when full). */
  async #fill(): Promise<void> {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#start > 0 && this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const b = new Uint8Array(this.#buf.length * 2);
      b.set(this.#buf.subarray(0, this.#end));
      this.#buf = b;
    }
    const n = await this.#conn!.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("connection closed by the server");
    this.#end += n;
  }

  /** The index just past the next CRLF from `from`, reading more until there is one. */
  async #line(from: number): Promise<number> {
    for (;;) {
      for (let i = Math.max(from, this.#start); i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) return i + 2;
      }
      const before = this.#start;
      await this.#fill();
      from -= before - this.#start; // compaction moved the bytes
    }
  }

  async #take(n: number, into: Uint8Array, at: number): Promise<void> {
    const have = Math.min(n, this.#end - this.#start);
    into.set(this.#buf.subarray(this.#start, this.#start + have), at);
    this.#start += have;
    // The rest straight into the body.
    for (let got = have; got < n;) {
      const r = await this.#conn!.read(into.subarray(at + got, at + n));
      if (r === null) throw new Error("connection closed inside a body");
      got += r;
    }
  }

  async #answer(): Promise<HttpAnswer> {
    // Status line and headers, up to the empty line.
    const headStart = this.#start;
    let lineEnd = await this.#line(headStart);
    let from = this.#start;
    const lines: string[] = [];
    for (;;) {
      if (lineEnd - from === 2) break;
      lines.push(dec.decode(this.#buf.subarray(from, lineEnd - 2)));
      from = lineEnd;
      const before = this.#start;
      lineEnd = await this.#line(from);
      from -= before - this.#start;
    }
    this.#start = lineEnd;
    const status = Number(lines[0]?.split(" ")[1]);
    if (!(status >= 100)) throw new Error(`not an HTTP answer: ${lines[0]}`);
    let length = -1;
    let chunked = false;
    let close = false;
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      const name = l.slice(0, c).trim().toLowerCase();
      const value = l.slice(c + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.includes("chunked");
      else if (name === "connection") close = value.includes("close");
    }
    let body: Uint8Array;
    if (status === 204 || status === 304) {
      body = new Uint8Array(0);
    } else if (chunked) {
      const chunks: Uint8Array[] = [];
      for (;;) {
        const end = await this.#line(this.#start);
        const size = parseInt(dec.decode(this.#buf.subarray(this.#start, end - 2)), 16);
        this.#start = end;
        if (!(size >= 0)) throw new Error("bad chunk size");
        if (size === 0) {
          this.#start = await this.#line(this.#start); // the empty line after the last chunk
          break;
        }
        const c = new Uint8Array(size);
        await this.#take(size, c, 0);
        this.#start = await this.#line(this.#start);
        chunks.push(c);
      }
      body = new Uint8Array(chunks.reduce((x, c) => x + c.length, 0));
      let off = 0;
      for (const c of chunks) (body.set(c, off), off += c.length);
    } else if (length >= 0) {
      body = new Uint8Array(length);
      await this.#take(length, body, 0);
    } else {
      throw new Error("an answer without Content-Length or chunks");
    }
    if (close) this.close();
    return { status, body };
  }
}

class Player {
  readonly #index: string;
  /** A player's two connections, as a browser's: the playlist's (blocking reloads) and the parts'. */
  readonly #playlistConn = new HttpConn();
  readonly #partConn = new HttpConn();
  #media = "";
  readonly #tracker = new PartTracker();
  readonly #queue: Queued[] = [];
  #wake: (() => void) | null = null;
  #lastPartAt = NaN;
  #maxGap = 0;

  constructor(index: string) {
    this.#index = index;
  }

  /** GET `url`: the body, or null (counted) when the answer is not 2xx or the request failed. */
  async #get(kind: string, url: string): Promise<Uint8Array | null> {
    try {
      const res = await (kind === "part" ? this.#partConn : this.#playlistConn).get(new URL(url));
      if (res.status >= 200 && res.status < 300) return res.body;
      error(`${kind} ${res.status}`, `${url}: ${dec.decode(res.body).trim()}`);
      return null;
    } catch (e) {
      error(`${kind} failed`, `${url}: ${(e as Error).message}`);
      return null;
    }
  }

  async #playlist(url: string): Promise<{ pl: ClientPlaylist; at: number } | null> {
    const body = await this.#get("playlist", url);
    if (body === null) return null;
    const at = epochMs();
    const text = dec.decode(body);
    if (inSteady(at)) {
      report.playlists++;
      report.playlistBytes += text.length;
    }
    try {
      return { pl: parseClientPlaylist(text), at };
    } catch (e) {
      error("playlist unreadable", `${url}: ${(e as Error).message}`);
      return null;
    }
  }

  async run(): Promise<void> {
    try {
      while (!stop.signal.aborted) {
        if (await this.#session()) return;
        await sleep(500); // a stream that went away, or an error before the first part: start again
      }
    } finally {
      this.#playlistConn.close();
      this.#partConn.close();
    }
  }

  /** One playback from the multivariant playlist on; true when it ended by the stop. */
  async #session(): Promise<boolean> {
    const idx = await this.#get("index", this.#index);
    if (idx === null) return stop.signal.aborted;
    const variant = firstVariantUri(dec.decode(idx));
    if (variant === null) {
      error("index unreadable", this.#index);
      return false;
    }
    this.#media = new URL(variant, this.#index).href;
    const first = await this.#playlist(this.#media);
    if (first === null) return stop.signal.aborted;
    const { pl } = first;
    if (pl.mapUri !== null) {
      const init = await this.#get("init", new URL(pl.mapUri, this.#media).href);
      if (init === null) return stop.signal.aborted;
    }
    report.started++;
    for (const part of this.#tracker.startAt(pl, startPartIndex(pl))) {
      this.#queue.push({ part, listedAt: first.at });
    }
    const parts = this.#parts();
    let current = pl;
    while (!stop.signal.aborted && !current.endList) {
      const u = new URL(this.#media);
      u.search = (u.search ? u.search + "&" : "?") + blockingQuery(current);
      const next = await this.#playlist(u.href);
      if (next === null) {
        await sleep(100);
        continue;
      }
      const before = this.#tracker.jumps;
      for (const part of this.#tracker.take(next.pl)) this.#queue.push({ part, listedAt: next.at });
      report.jumps += this.#tracker.jumps - before;
      current = next.pl;
      this.#wake?.();
    }
    this.#wake?.();
    await parts;
    return stop.signal.aborted;
  }

  /** Fetches the queued parts one at a time, in order. */
  async #parts(): Promise<void> {
    while (!stop.signal.aborted) {
      const q = this.#queue.shift();
      if (q === undefined) {
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = null;
        continue;
      }
      const url = new URL(q.part.uri, this.#media).href;
      const bytes = await this.#get("part", url);
      if (bytes === null) continue;
      const at = epochMs();
      if (!inSteady(at)) {
        this.#lastPartAt = NaN;
        continue;
      }
      if (Number.isFinite(this.#lastPartAt)) this.#maxGap = Math.max(this.#maxGap, at - this.#lastPartAt);
      this.#lastPartAt = at;
      report.parts++;
      report.partBytes += bytes.length;
      report.listedToReceivedMs.push(round(at - q.listedAt));
      const end = q.part.startMs + q.part.durationS * 1000;
      if (Number.isFinite(end)) {
        report.pdtEndToReceivedMs.push(round(at - end));
        report.pdtEndToListedMs.push(round(q.listedAt - end));
      }
      const stamp = newestStamp(bytes, STAMP_MAGIC);
      if (Number.isFinite(stamp)) report.stampToReceivedMs.push(round(at - stamp));
    }
  }

  get maxGapMs(): number {
    return this.#maxGap;
  }
}

if (import.meta.main) {
  plan = JSON.parse(Deno.args[0]) as HlsLoadPlan;
  report.clients = plan.clients;
  const players: Player[] = [];
  const runs: Promise<void>[] = [];
  const ramp = Math.max(0, plan.rampEndAt - plan.rampStartAt);
  for (let i = 0; i < plan.clients; i++) {
    const at = plan.rampStartAt + (plan.clients > 1 ? (ramp * i) / plan.clients : 0);
    const wait = at - epochMs();
    if (wait > 0) await sleep(wait);
    const p = new Player(plan.urls[i % plan.urls.length]);
    players.push(p);
    runs.push(p.run());
  }
  await sleep(Math.max(0, plan.steadyEndAt - epochMs()));
  stop.abort();
  for (const c of [...openConns]) {
    try {
      c.close();
    } catch {
      // closed already
    }
  }
  await Promise.race([Promise.allSettled(runs), sleep(3000)]);
  report.maxPartGapMs = players.map((p) => round(p.maxGapMs));
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
