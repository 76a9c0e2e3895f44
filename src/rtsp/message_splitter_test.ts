import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  HeaderBlockTooLargeError,
  RtspError,
  RtspParseError,
  VersionNotSupportedError,
} from "./errors.ts";
import {
  DEFAULT_SPLITTER_LIMITS,
  isBlankLineGarbage,
  MessageSplitter,
  SPLIT_FRAME,
  SPLIT_GARBAGE,
  SPLIT_INCOMPLETE,
  SPLIT_MESSAGE,
  type SplitterLimits,
} from "./message_splitter.ts";
import { writeInterleavedHeader } from "./interleaved_frame.ts";
import { parseRequest } from "./request.ts";
import { fuzzSteps } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds } from "../testing/golden.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function frame(channel: number, payload: number[]): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  writeInterleavedHeader(out, 0, channel, payload.length);
  out.set(payload, 4);
  return out;
}

function concat(parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((p) => typeof p === "string" ? enc(p) : p);
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bytes) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

// Feeds `stream` into a growing buffer `chunk` bytes at a time, like a connection's read loop would.
function drive(stream: Uint8Array, chunk: number, splitter = new MessageSplitter()): string[] {
  const buf = new Uint8Array(stream.length);
  const events: string[] = [];
  let pos = 0;
  let len = 0;
  while (len < stream.length) {
    const n = Math.min(chunk, stream.length - len);
    buf.set(stream.subarray(len, len + n), len);
    len += n;
    for (;;) {
      const kind = splitter.next(buf, pos, len);
      if (kind === SPLIT_INCOMPLETE) break;
      if (kind === SPLIT_FRAME) {
        events.push(`frame ${splitter.channel} ${[...buf.subarray(splitter.payloadStart, splitter.end)]}`);
      } else if (kind === SPLIT_MESSAGE) {
        const head = dec(buf.subarray(pos, splitter.headerEnd)).split(/\r?\n/)[0];
        events.push(`message ${head} body=${dec(buf.subarray(splitter.headerEnd, splitter.end))}`);
      } else {
        events.push(
          `${isBlankLineGarbage(buf, pos, splitter.end) ? "blank" : "garbage"} ${splitter.end - pos}`,
        );
      }
      pos = splitter.end;
    }
  }
  assert.equal(pos, len, "stream fully consumed");
  return events;
}

const PIPELINED = concat([
  "OPTIONS rtsp://h/p RTSP/1.0\r\nCSeq: 1\r\n\r\n",
  frame(0, [1, 2, 3]),
  "SET_PARAMETER rtsp://h/p RTSP/1.0\r\ncseq: 2\r\ncontent-LENGTH: 4\r\n\r\na\r\nb",
  frame(1, []),
  frame(2, [9]),
  "RTSP/1.0 200 OK\nCSeq: 3\nContent-Length:7\n\nv=0\r\nx\n",
  frame(255, [7, 7]),
]);

const PIPELINED_EVENTS = [
  "message OPTIONS rtsp://h/p RTSP/1.0 body=",
  "frame 0 1,2,3",
  "message SET_PARAMETER rtsp://h/p RTSP/1.0 body=a\r\nb",
  "frame 1 ",
  "frame 2 9",
  "message RTSP/1.0 200 OK body=v=0\r\nx\n",
  "frame 255 7,7",
];

Deno.test("MessageSplitter.next() splits three messages and $ frames in one buffer", () => {
  assert.deepEqual(drive(PIPELINED, PIPELINED.length), PIPELINED_EVENTS);
});

Deno.test("MessageSplitter.next() gives the same result fed one byte at a time", () => {
  assert.deepEqual(drive(PIPELINED, 1), PIPELINED_EVENTS);
});

Deno.test("MessageSplitter.next() gives the same result for every read size", () => {
  for (let chunk = 2; chunk < 40; chunk++) {
    assert.deepEqual(drive(PIPELINED, chunk), PIPELINED_EVENTS, `chunk ${chunk}`);
  }
});

Deno.test("MessageSplitter.next() reports frame fields and waits for the whole frame", () => {
  const s = new MessageSplitter();
  const buf = concat([frame(3, [10, 20, 30, 40])]);
  assert.equal(s.next(buf, 0, 3), SPLIT_INCOMPLETE);
  assert.equal(s.next(buf, 0, 7), SPLIT_INCOMPLETE);
  assert.equal(s.end, 8, "known end reported while incomplete");
  assert.equal(s.next(buf, 0, 8), SPLIT_FRAME);
  assert.deepEqual({ channel: s.channel, payloadStart: s.payloadStart, end: s.end }, {
    channel: 3,
    payloadStart: 4,
    end: 8,
  });
});

Deno.test("MessageSplitter.next() reports message fields", () => {
  const s = new MessageSplitter();
  const buf = enc("xxANNOUNCE rtsp://h/p RTSP/1.0\r\nContent-Length : 3 \r\n\r\nabcTAIL");
  assert.equal(s.next(buf, 2, buf.length), SPLIT_MESSAGE);
  assert.equal(dec(buf.subarray(s.headerEnd, s.end)), "abc");
  assert.equal(s.payloadStart, s.headerEnd);
  assert.equal(s.contentLength, 3);
  assert.equal(s.channel, -1);
});

Deno.test("MessageSplitter.next() skips garbage to the next $ or letter", async (t) => {
  const cases = [
    {
      name: "binary then frame",
      input: concat([new Uint8Array([0, 0xff, 0x80, 0x10]), frame(0, [1])]),
      end: 4,
    },
    { name: "digits then method", input: enc("123OPTIONS"), end: 3 },
    { name: "stray CRLF", input: enc("\r\n\r\nOPTIONS"), end: 4 },
    { name: "garbage to the end", input: new Uint8Array([1, 2, 3]), end: 3 },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const s = new MessageSplitter();
      assert.equal(s.next(c.input, 0, c.input.length), SPLIT_GARBAGE);
      assert.equal(s.end, c.end);
    });
  }
  const stream = concat([
    "SET_PARAMETER * RTSP/1.0\r\nContent-Length: 2\r\n\r\nab\r\n",
    "OPTIONS * RTSP/1.0\r\n\r\n",
    new Uint8Array([0x80, 0x0d, 0x0a]),
    frame(1, [5]),
  ]);
  assert.deepEqual(drive(stream, stream.length), [
    "message SET_PARAMETER * RTSP/1.0 body=ab",
    "blank 2",
    "message OPTIONS * RTSP/1.0 body=",
    "garbage 3",
    "frame 1 5",
  ]);
});

Deno.test("isBlankLineGarbage() is true only for CR/LF runs", () => {
  assert.equal(isBlankLineGarbage(enc("\r\n"), 0, 2), true);
  assert.equal(isBlankLineGarbage(enc("\n"), 0, 1), true);
  assert.equal(isBlankLineGarbage(enc("\r\n\0"), 0, 3), false);
  assert.equal(isBlankLineGarbage(enc(""), 0, 0), false);
});

const isStatus = (status: number) => (e: unknown) => e instanceof RtspError && e.status === status;

Deno.test("MessageSplitter.next() refuses an oversized header block with 400", () => {
  const s = new MessageSplitter({ maxHeaderBlockBytes: 64, maxBodyBytes: 1024 });
  const buf = enc(`OPTIONS * RTSP/1.0\r\nX: ${"a".repeat(100)}`);
  assert.equal(s.next(buf, 0, 60), SPLIT_INCOMPLETE);
  assert.throws(() => s.next(buf, 0, buf.length), isStatus(400));
  assert.throws(() => s.next(buf, 0, buf.length), /header block exceeds 64 bytes/);
  const complete = enc(`OPTIONS * RTSP/1.0\r\nX: ${"a".repeat(100)}\r\n\r\n`);
  assert.throws(
    () =>
      new MessageSplitter({ maxHeaderBlockBytes: 64, maxBodyBytes: 1 }).next(complete, 0, complete.length),
    isStatus(400),
  );
  const big = new Uint8Array(DEFAULT_SPLITTER_LIMITS.maxHeaderBlockBytes + 1).fill(0x41);
  assert.throws(() => new MessageSplitter().next(big, 0, big.length), isStatus(400));
});

Deno.test("MessageSplitter.next() refuses an oversized body with 413 before it arrives", () => {
  const s = new MessageSplitter();
  const buf = enc(
    `ANNOUNCE rtsp://h/p RTSP/1.0\r\nContent-Length: ${DEFAULT_SPLITTER_LIMITS.maxBodyBytes + 1}\r\n\r\n`,
  );
  assert.throws(() => s.next(buf, 0, buf.length), isStatus(413));
  const ok = enc(
    `ANNOUNCE rtsp://h/p RTSP/1.0\r\nContent-Length: ${DEFAULT_SPLITTER_LIMITS.maxBodyBytes}\r\n\r\n`,
  );
  assert.equal(s.next(ok, 0, ok.length), SPLIT_INCOMPLETE);
  assert.equal(s.end, ok.length + DEFAULT_SPLITTER_LIMITS.maxBodyBytes);
  const huge = enc(`ANNOUNCE * RTSP/1.0\r\nContent-Length: ${"9".repeat(400)}\r\n\r\n`);
  assert.throws(() => new MessageSplitter().next(huge, 0, huge.length), isStatus(413));
});

Deno.test("MessageSplitter.next() refuses invalid Content-Length with 400", async (t) => {
  const values = ["-1", "", "abc", "1 2", "0x10", "+5"];
  for (const v of values) {
    await t.step(JSON.stringify(v), () => {
      const buf = enc(`ANNOUNCE * RTSP/1.0\r\nContent-Length: ${v}\r\n\r\n`);
      assert.throws(() => new MessageSplitter().next(buf, 0, buf.length), isStatus(400));
    });
  }
  const conflict = enc("ANNOUNCE * RTSP/1.0\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab");
  assert.throws(() => new MessageSplitter().next(conflict, 0, conflict.length), isStatus(400));
});

Deno.test("MessageSplitter.next() ignores headers that only resemble Content-Length", () => {
  const buf = enc(
    "OPTIONS * RTSP/1.0\r\nContent-Length-X: 5\r\nX-Content-Length: 5\r\nContent\rlength: 5\r\n\r\n",
  );
  const s = new MessageSplitter();
  assert.equal(s.next(buf, 0, buf.length), SPLIT_MESSAGE);
  assert.equal(s.end, buf.length);
});

Deno.test("MessageSplitter.next() recovers after a throw and after reset()", () => {
  const s = new MessageSplitter({ maxHeaderBlockBytes: 64, maxBodyBytes: 8 });
  const bad = enc("ANNOUNCE * RTSP/1.0\r\nContent-Length: 9\r\n\r\n");
  assert.throws(() => s.next(bad, 0, bad.length), isStatus(413));
  const good = enc("OPTIONS * RTSP/1.0\r\n\r\n");
  assert.equal(s.next(good, 0, good.length), SPLIT_MESSAGE);
  // The same buffer reused for different bytes at the same start: reset() drops the remembered scan.
  const buf = enc("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n");
  assert.equal(s.next(buf, 0, buf.length), SPLIT_INCOMPLETE);
  buf.set(enc("PLAY * RTSP/1.0\r\n\r\n\0\0\0\0\0\0\0\0\0\0"));
  s.reset();
  assert.equal(s.next(buf, 0, buf.length), SPLIT_MESSAGE);
  assert.equal(s.end, 19);
});

/**
 * Everything the splitter makes of `stream` fed `chunk` bytes per read, as a connection's loop would
 * drive it: one event per boundary, then where it stopped ("incomplete at N") or what it threw.
 * Asserts the fields of every result and that anything other than RtspError is never thrown.
 */
function splitEvents(stream: Uint8Array, chunk: number, limits?: SplitterLimits): string[] {
  const splitter = new MessageSplitter(limits);
  const buf = new Uint8Array(stream.length);
  const events: string[] = [];
  let pos = 0;
  let len = 0;
  while (len < stream.length) {
    const n = Math.min(chunk, stream.length - len);
    buf.set(stream.subarray(len, len + n), len);
    len += n;
    for (;;) {
      let kind;
      try {
        kind = splitter.next(buf, pos, len);
      } catch (e) {
        const declared = e instanceof RtspParseError || e instanceof HeaderBlockTooLargeError ||
          e instanceof BodyTooLargeError;
        assert.ok(declared, `threw ${e}`);
        events.push(`throw ${e.status} at ${pos}`);
        return events;
      }
      if (kind === SPLIT_INCOMPLETE) break;
      assert.ok(splitter.end > pos && splitter.end <= len, `end ${splitter.end} outside (${pos}, ${len}]`);
      if (kind === SPLIT_FRAME) {
        assert.equal(splitter.payloadStart, pos + 4);
        events.push(`frame ${splitter.channel} ${pos}-${splitter.end}`);
      } else if (kind === SPLIT_MESSAGE) {
        assert.equal(splitter.end - splitter.headerEnd, splitter.contentLength);
        assert.ok(splitter.headerEnd > pos);
        events.push(`message ${pos}-${splitter.headerEnd}-${splitter.end}`);
      } else {
        assert.equal(kind, SPLIT_GARBAGE);
        events.push(
          `${isBlankLineGarbage(buf, pos, splitter.end) ? "blank" : "garbage"} ${pos}-${splitter.end}`,
        );
      }
      pos = splitter.end;
    }
  }
  events.push(`incomplete at ${pos}`);
  return events;
}

const SMALL_LIMITS: SplitterLimits = { maxHeaderBlockBytes: 160, maxBodyBytes: 200 };

const splitCases: GoldenCase<Uint8Array, string[]>[] = [
  {
    name: "pipelined requests, responses and $ frames",
    input: PIPELINED,
    parsed: [
      "message 0-40-40",
      "frame 0 40-47",
      "message 47-112-116",
      "frame 1 116-120",
      "frame 2 120-125",
      "message 125-167-174",
      "frame 255 174-180",
      "incomplete at 180",
    ],
  },
  {
    name: "blank line before a request, garbage before a frame",
    input: concat(["\r\n", "OPTIONS * RTSP/1.0\r\n\r\n", Uint8Array.of(0, 0xff), frame(1, [5])]),
    parsed: ["blank 0-2", "message 2-24-24", "garbage 24-26", "frame 1 26-31", "incomplete at 31"],
  },
  {
    name: "frame cut short waits",
    input: concat([frame(0, [1, 2, 3]).subarray(0, 5)]),
    parsed: ["incomplete at 0"],
  },
  {
    name: "conflicting Content-Length",
    input: concat(["ANNOUNCE * RTSP/1.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"]),
    parsed: ["throw 400 at 0"],
  },
];

Deno.test("MessageSplitter.next() splits the golden streams", (t) =>
  goldenParseSteps(t, splitCases, (input) => splitEvents(input, input.length)));

/** Garbage is skipped as it arrives: only the bytes skipped between boundaries are read-size independent. */
function boundaries(events: string[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const m = /^(?:blank|garbage) (\d+)-(\d+)$/.exec(e);
    const last = out.at(-1)?.match(/^skip (\d+)-(\d+)$/);
    if (m === null) out.push(e);
    else if (last && last[2] === m[1]) out[out.length - 1] = `skip ${last[1]}-${m[2]}`;
    else out.push(`skip ${m[1]}-${m[2]}`);
  }
  return out;
}

/**
 * The splitter's convention: only RtspParseError or a limit's RtspError, only for a message head;
 * every read size gives the same boundaries; and what it calls a request parses with the body it
 * measured, or is refused.
 */
function checkSplitter(input: Uint8Array): void {
  for (const limits of [undefined, SMALL_LIMITS]) {
    const whole = boundaries(splitEvents(input, input.length, limits));
    for (const chunk of [1, 2 + (input.length % 13)]) {
      assert.deepEqual(boundaries(splitEvents(input, chunk, limits)), whole, `read size ${chunk}`);
    }
  }
  for (const event of splitEvents(input, input.length)) {
    const m = /^message (\d+)-(\d+)-(\d+)$/.exec(event);
    if (m === null || input[Number(m[1])] === 0x52) continue; // responses start with `R`TSP/
    const message = input.subarray(Number(m[1]), Number(m[3]));
    try {
      assert.equal(parseRequest(message).body.length, Number(m[3]) - Number(m[2]), "body length disagrees");
    } catch (e) {
      if (!(e instanceof RtspParseError || e instanceof VersionNotSupportedError)) throw e;
    }
  }
}

Deno.test("MessageSplitter.next() fuzz: corpus and mutated streams split alike for every read size", async (t) => {
  await fuzzSteps(t, {
    corpus: "message_splitter",
    label: "MessageSplitter.next()",
    seeds: goldenSeeds(splitCases, (c) => [c.input]),
    check: checkSplitter,
    count: 2000,
    seed: 10,
    kind: "text",
    dictionary: ["$", "$\x00\x00\x04", "\r\n\r\n", "Content-Length: 4\r\n", "content-length:99999999\r\n"],
  });
});
