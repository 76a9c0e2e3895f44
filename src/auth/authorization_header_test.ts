import assert from "node:assert/strict";
import {
  type Authorization,
  type Challenge,
  parseAuthorization,
  parseChallenge,
  serializeAuthorization,
  serializeChallenge,
} from "./authorization_header.ts";
import { assertRoundTrip, fuzzSteps } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

const digest = (entries: [string, string][]): Authorization => ({
  scheme: "digest",
  params: new Map(entries),
});

// RFC 2617 §3.5's request header, as an RTSP client would fold it onto one line.
const RFC2617_HEADER = 'Digest username="Mufasa", realm="testrealm@host.com", ' +
  'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, ' +
  'cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';

const cases: { name: string; input: string; parsed: Authorization; canonical?: string }[] = [
  {
    name: "Basic (RFC 7617 §2 example)",
    input: "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    parsed: { scheme: "basic", user: "Aladdin", pass: "open sesame" },
  },
  {
    name: "Basic: scheme case-insensitive, colon inside the password, surrounding whitespace",
    input: "  bAsIc\tdXNlcjpwYTpzcw==  ",
    parsed: { scheme: "basic", user: "user", pass: "pa:ss" },
    canonical: "Basic dXNlcjpwYTpzcw==",
  },
  {
    name: "Basic: UTF-8 user and password",
    input: `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode("jürgen:pässwort")))}`,
    parsed: { scheme: "basic", user: "jürgen", pass: "pässwort" },
  },
  {
    name: "Basic: empty password",
    input: "Basic dXNlcjo=",
    parsed: { scheme: "basic", user: "user", pass: "" },
  },
  {
    name: "Digest: RFC 2617 §3.5",
    input: RFC2617_HEADER,
    parsed: digest([
      ["username", "Mufasa"],
      ["realm", "testrealm@host.com"],
      ["nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093"],
      ["uri", "/dir/index.html"],
      ["qop", "auth"],
      ["nc", "00000001"],
      ["cnonce", "0a4f113b"],
      ["response", "6629fae49393a05397450978507c4ef1"],
      ["opaque", "5ccc069c403ebaf9f0171e9517f40e41"],
    ]),
  },
  {
    name: "Digest: upper-case keys, no spaces, commas and escapes inside quotes, unquoted uri",
    input: 'DIGEST USERNAME="a\\"b\\\\c",Realm="x, y",uri=rtsp://h:554/live/cam1?x=1 , ,response=abc',
    parsed: digest([
      ["username", 'a"b\\c'],
      ["realm", "x, y"],
      ["uri", "rtsp://h:554/live/cam1?x=1"],
      ["response", "abc"],
    ]),
    canonical: 'Digest username="a\\"b\\\\c", realm="x, y", uri="rtsp://h:554/live/cam1?x=1", response="abc"',
  },
  {
    name: "Digest: whitespace around '=' and tabs (GStreamer style)",
    input: 'Digest username = "u" ,\trealm= "r",  nonce ="n", uri="/p", response="00"',
    parsed: digest([["username", "u"], ["realm", "r"], ["nonce", "n"], ["uri", "/p"], ["response", "00"]]),
    canonical: 'Digest username="u", realm="r", nonce="n", uri="/p", response="00"',
  },
];

Deno.test("parseAuthorization() reads golden cases", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => assert.deepEqual(parseAuthorization(c.input), c.parsed));
  }
});

Deno.test("serializeAuthorization() writes golden cases canonically and they parse back", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const text = serializeAuthorization(c.parsed);
      if (c.canonical !== undefined) assert.equal(text, c.canonical);
      assert.deepEqual(parseAuthorization(text), c.parsed);
    });
  }
  assert.equal(
    serializeAuthorization(
      digest([["username", "u"], ["algorithm", "MD5"], ["qop", "auth"], ["nc", "00000001"]]),
    ),
    'Digest username="u", algorithm=MD5, qop=auth, nc=00000001',
  );
});

Deno.test("parseAuthorization() returns null for malformed values and other schemes", () => {
  const bad = [
    "",
    "   ",
    "Basic",
    "Basic ",
    "Basic !!!!",
    "Basic dXNlcg==", // "user": no colon
    "Basic QWxh ZGRp", // space inside the token
    "Basic QWxhZ", // impossible base64 length
    "Digest",
    "Digest ",
    'Digestusername="u"',
    'Digest username="u',
    'Digest username="u\\',
    "Digest username=",
    'Digest username="u" realm="r"', // missing comma
    'Digest username="u", username="v"', // repeated parameter
    'Digest =x, username="u"',
    'Digest username="u", realm',
    "Bearer abcdef",
    "Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1",
  ];
  for (const input of bad) assert.equal(parseAuthorization(input), null, JSON.stringify(input));
});

const challengeCases: { name: string; challenge: Challenge; text: string }[] = [
  { name: "Basic", challenge: { scheme: "basic", realm: "dm-live" }, text: 'Basic realm="dm-live"' },
  {
    name: "Digest MD5 with qop",
    challenge: {
      scheme: "digest",
      realm: "dm-live",
      nonce: "abc",
      algorithm: "MD5",
      qop: true,
      stale: false,
    },
    text: 'Digest realm="dm-live", nonce="abc", algorithm=MD5, qop="auth"',
  },
  {
    name: "Digest SHA-256 stale, realm with quote",
    challenge: {
      scheme: "digest",
      realm: 'a"b',
      nonce: "n-1_",
      algorithm: "SHA-256",
      qop: true,
      stale: true,
    },
    text: 'Digest realm="a\\"b", nonce="n-1_", algorithm=SHA-256, qop="auth", stale=TRUE',
  },
  {
    name: "Digest without qop",
    challenge: { scheme: "digest", realm: "r", nonce: "n", algorithm: "MD5", qop: false, stale: false },
    text: 'Digest realm="r", nonce="n", algorithm=MD5',
  },
];

Deno.test("serializeChallenge() writes RFC 7616 challenges and parseChallenge() reads them back", async (t) => {
  for (const c of challengeCases) {
    await t.step(c.name, () => {
      assert.equal(serializeChallenge(c.challenge), c.text);
      assert.deepEqual(parseChallenge(c.text), c.challenge);
    });
  }
});

Deno.test("parseChallenge() reads what cameras send and refuses the rest", () => {
  // RFC 7616 §3.9.1's challenge: qop list, opaque, lower-case stale.
  assert.deepEqual(
    parseChallenge(
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=sha-256, ' +
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe", stale=true',
    ),
    {
      scheme: "digest",
      realm: "http-auth@example.org",
      nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
      algorithm: "SHA-256",
      qop: true,
      stale: true,
    },
  );
  assert.deepEqual(parseChallenge('Digest realm="r", nonce="n"'), {
    scheme: "digest",
    realm: "r",
    nonce: "n",
    algorithm: "MD5",
    qop: false,
    stale: false,
  });
  assert.equal(parseChallenge('Digest realm="r"'), null); // no nonce
  assert.equal(parseChallenge('Digest realm="r", nonce="n", algorithm=MD5-sess'), null);
  assert.equal(parseChallenge("Basic"), null);
  assert.equal(parseChallenge('Bearer realm="r"'), null);
});

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("parseAuthorization() fuzz: corpus and mutated values never throw; what parses round-trips", async (t) => {
  await fuzzSteps(t, {
    corpus: "authorization",
    label: "parseAuthorization()",
    seeds: goldenSeeds(cases, (c) => [c.input, c.canonical]),
    check: (input) => {
      const a = parseAuthorization(dec(input));
      if (a !== null) {
        assertRoundTrip(a, serializeAuthorization, (s) => parseAuthorization(s) as Authorization);
      }
    },
    count: 5000,
    seed: 7617,
    kind: "text",
    dictionary: ["Digest ", "Basic ", ", nc=", ", qop=", ", algorithm=", '\\"', "=="],
  });
});

Deno.test("parseChallenge() fuzz: corpus and mutated challenges never throw; what parses round-trips", async (t) => {
  await fuzzSteps(t, {
    corpus: "www_authenticate",
    label: "parseChallenge()",
    seeds: goldenSeeds(challengeCases, (c) => [c.text]),
    check: (input) => {
      const c = parseChallenge(dec(input));
      if (c !== null) assertRoundTrip(c, serializeChallenge, (s) => parseChallenge(s) as Challenge);
    },
    count: 3000,
    seed: 7616,
    kind: "text",
    dictionary: ["Digest ", "Basic ", ", stale=", ', qop="auth, auth-int"', ", algorithm=SHA-256", '\\"'],
  });
});
