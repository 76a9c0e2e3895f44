import assert from "node:assert/strict";
import { canonicalHeaderName, HeaderMap } from "./header_map.ts";
import { RtspParseError } from "./errors.ts";
import { parseMessageHead, serializeMessage } from "./_message_head.ts";
import { fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { type GoldenCase, goldenParseSteps, goldenSeeds } from "../testing/golden.ts";

Deno.test("canonicalHeaderName() spells RTSP headers canonically", () => {
  const cases = [
    ["cseq", "CSeq"],
    ["CSEQ", "CSeq"],
    ["www-authenticate", "WWW-Authenticate"],
    ["rtp-info", "RTP-Info"],
    ["content-base", "Content-Base"],
    ["content-length", "Content-Length"],
    ["user-agent", "User-Agent"],
    ["cache-control", "Cache-Control"],
    ["blocksize", "Blocksize"],
    ["x-accept-dynamic-rate", "X-Accept-Dynamic-Rate"],
    ["X-FOO", "X-Foo"],
  ] as const;
  for (const [input, want] of cases) assert.equal(canonicalHeaderName(input), want, input);
});

Deno.test("HeaderMap get() and has() are case-insensitive and return the first value", () => {
  const h = new HeaderMap([["CSeq", "1"], ["x-a", "1"], ["X-A", "2"]]);
  assert.equal(h.get("cseq"), "1");
  assert.equal(h.get("X-a"), "1");
  assert.deepEqual(h.getAll("x-A"), ["1", "2"]);
  assert.equal(h.has("CSEQ"), true);
  assert.equal(h.get("session"), undefined);
  assert.deepEqual(h.getAll("session"), []);
});

Deno.test("HeaderMap set() replaces all values at the first position", () => {
  const h = new HeaderMap([["A", "1"], ["B", "2"], ["a", "3"], ["C", "4"]]);
  assert.equal(h.set("a", "9"), h);
  assert.deepEqual([...h], [["a", "9"], ["B", "2"], ["C", "4"]]);
  h.set("D", "5");
  assert.deepEqual([...h].at(-1), ["D", "5"]);
  assert.equal(h.size, 4);
});

Deno.test("HeaderMap append() keeps duplicates in order and iteration keeps names as given", () => {
  const h = new HeaderMap().append("WWW-Authenticate", "Basic").append("www-authenticate", "Digest");
  assert.deepEqual([...h], [["WWW-Authenticate", "Basic"], ["www-authenticate", "Digest"]]);
  assert.equal(h.size, 2);
});

Deno.test("HeaderMap delete() removes every occurrence", () => {
  const h = new HeaderMap([["A", "1"], ["B", "2"], ["a", "3"]]);
  assert.equal(h.delete("A"), true);
  assert.equal(h.delete("A"), false);
  assert.deepEqual([...h], [["B", "2"]]);
});

Deno.test("HeaderMap rejects names and values that would break the message", () => {
  const h = new HeaderMap();
  assert.throws(() => h.set("Bad Name", "x"), TypeError);
  assert.throws(() => h.append("", "x"), TypeError);
  assert.throws(() => h.append("X-Ok", "a\r\nInjected: 1"), TypeError);
});

// Header names as clients spell them → the spelling dm-live writes (RFC 2326 §12).
const nameCases: GoldenCase<string, string>[] = [
  { name: "ffmpeg CSeq", input: "CSeq", parsed: "CSeq" },
  { name: "lower-case cseq", input: "cseq", parsed: "CSeq" },
  { name: "GStreamer User-Agent", input: "User-Agent", parsed: "User-Agent" },
  { name: "upper-case RTP-INFO", input: "RTP-INFO", parsed: "RTP-Info" },
  { name: "www-authenticate", input: "www-authenticate", parsed: "WWW-Authenticate" },
  {
    name: "unknown name capitalised per word",
    input: "x-accept-dynamic-RATE",
    parsed: "X-Accept-Dynamic-Rate",
  },
];

Deno.test("canonicalHeaderName() spells the golden names", (t) =>
  goldenParseSteps(t, nameCases, canonicalHeaderName));

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * HeaderMap's convention: refuse an entry that would break the message with TypeError; otherwise
 * keep it, in order, found case-insensitively, and give it back through the wire unchanged but
 * for the surrounding whitespace parsing trims (or refused by a wire limit with RtspError).
 */
function checkHeaderMap(input: Uint8Array): void {
  const map = new HeaderMap();
  const kept: [string, string][] = [];
  for (const line of dec(input).split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const entry: [string, string] = [line.slice(0, colon), line.slice(colon + 1).replace(/\r$/, "")];
    if (parseOrRefuse(() => map.append(...entry), (e) => e instanceof TypeError) !== REFUSED) {
      kept.push(entry);
    }
  }
  assert.deepEqual([...map], kept);
  for (const [name] of kept) {
    const values = kept.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    assert.deepEqual(map.getAll(name.toUpperCase()), values);
    assert.equal(map.get(name.toLowerCase()), values[0]);
    const canonical = canonicalHeaderName(name);
    assert.equal(canonical.toLowerCase(), name.toLowerCase());
    assert.equal(canonicalHeaderName(canonical), canonical);
  }
  const wire = serializeMessage("OPTIONS * RTSP/1.0", map, undefined, false);
  const head = parseOrRefuse(() => parseMessageHead(wire), (e) => e instanceof RtspParseError);
  if (head !== REFUSED) assert.deepEqual([...head.headers], kept.map(([n, v]) => [n, v.trim()]));
  const first = kept[0];
  if (first !== undefined) {
    map.set(first[0].toLowerCase(), "x");
    assert.deepEqual(map.getAll(first[0]), ["x"]);
    assert.equal([...map][0]?.[1], "x", "set() keeps the first position");
  }
}

Deno.test("HeaderMap fuzz: corpus and mutated header blocks refuse with TypeError or keep entries exactly", async (t) => {
  await fuzzSteps(t, {
    corpus: "header_map",
    label: "HeaderMap",
    seeds: goldenSeeds(nameCases, (c) => [`${c.input}: 1\r\n${c.parsed}: 2\r\n`]),
    check: checkHeaderMap,
    count: 3000,
    seed: 12,
    kind: "text",
  });
});
