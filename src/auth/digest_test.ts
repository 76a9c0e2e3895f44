import assert from "node:assert/strict";
import {
  DIGEST_HEX_LENGTH,
  digestHa1,
  digestHa2,
  digestHex,
  digestResponse,
  parseDigestAlgorithm,
} from "./digest.ts";

Deno.test("digestResponse() reproduces the RFC 2617 §3.5 example (MD5, qop=auth)", () => {
  const ha1 = digestHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life");
  const ha2 = digestHa2("MD5", "GET", "/dir/index.html");
  const qop = { qop: "auth", nc: "00000001", cnonce: "0a4f113b" };
  const response = digestResponse("MD5", ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", ha2, qop);
  assert.equal(response, "6629fae49393a05397450978507c4ef1");
});

Deno.test("digestResponse() reproduces the RFC 7616 §3.9.1 examples (SHA-256 and MD5)", () => {
  const nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
  const qop = { qop: "auth", nc: "00000001", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ" };
  const cases = [
    ["SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"],
    ["MD5", "8ca523f5e9506fed4657c9700eebdbec"],
  ] as const;
  for (const [alg, want] of cases) {
    const ha1 = digestHa1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
    const ha2 = digestHa2(alg, "GET", "/dir/index.html");
    assert.equal(digestResponse(alg, ha1, nonce, ha2, qop), want, alg);
    assert.equal(want.length, DIGEST_HEX_LENGTH[alg]);
  }
});

Deno.test("digestResponse() without qop is the RFC 2069 form H(HA1:nonce:HA2)", () => {
  // RFC 2069 §2.4's example; its printed response is a known erratum, this value is md5sum's.
  const ha1 = digestHa1("MD5", "Mufasa", "testrealm@host.com", "CircleOfLife");
  const ha2 = digestHa2("MD5", "GET", "/dir/index.html");
  const response = digestResponse("MD5", ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", ha2);
  assert.equal(response, "1949323746fe6a43ef61f9606e7febea");
  assert.equal(response, digestHex("MD5", `${ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:${ha2}`));
});

Deno.test("digestHex() hashes the UTF-8 bytes of the text", () => {
  assert.equal(digestHex("MD5", ""), "d41d8cd98f00b204e9800998ecf8427e");
  // `printf %s é | sha256sum`: the two bytes C3 A9, not Latin-1 E9.
  assert.equal(digestHex("SHA-256", "é"), "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c");
});

Deno.test("parseDigestAlgorithm() is case-insensitive, defaults to MD5 and refuses -sess", () => {
  assert.equal(parseDigestAlgorithm(undefined), "MD5");
  assert.equal(parseDigestAlgorithm("md5"), "MD5");
  assert.equal(parseDigestAlgorithm("sha-256"), "SHA-256");
  assert.equal(parseDigestAlgorithm("SHA-256"), "SHA-256");
  assert.equal(parseDigestAlgorithm("MD5-sess"), null);
  assert.equal(parseDigestAlgorithm("SHA-512-256"), null);
  assert.equal(parseDigestAlgorithm(""), null);
});
