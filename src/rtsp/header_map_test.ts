import assert from "node:assert/strict";
import { canonicalHeaderName, HeaderMap } from "./header_map.ts";

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
