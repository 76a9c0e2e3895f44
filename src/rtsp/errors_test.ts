import assert from "node:assert/strict";
import {
  BodyTooLargeError,
  HeaderBlockTooLargeError,
  RtspError,
  RtspParseError,
  VersionNotSupportedError,
} from "./errors.ts";

Deno.test("RtspError carries status, name and message", () => {
  const err = new RtspError(461, "No supported transport in header");
  assert.ok(err instanceof Error);
  assert.equal(err.status, 461);
  assert.equal(err.name, "RtspError");
  assert.equal(err.message, "No supported transport in header");
});

Deno.test("RtspError subclasses map to their status", () => {
  const cases = [
    { err: new HeaderBlockTooLargeError(16384), status: 400, name: "HeaderBlockTooLargeError" },
    { err: new BodyTooLargeError(200000, 131072), status: 413, name: "BodyTooLargeError" },
    { err: new VersionNotSupportedError("RTSP/2.0"), status: 505, name: "VersionNotSupportedError" },
  ];
  for (const c of cases) {
    assert.ok(c.err instanceof RtspError);
    assert.equal(c.err.status, c.status);
    assert.equal(c.err.name, c.name);
  }
  assert.equal(new HeaderBlockTooLargeError(16384).message, "header block exceeds 16384 bytes");
});

Deno.test("RtspParseError is the RtspError of text that cannot be parsed: 400, or 457 for Range", () => {
  const err = new RtspParseError("Malformed request line");
  assert.ok(err instanceof RtspError);
  assert.equal(err.status, 400);
  assert.equal(err.name, "RtspParseError");
  assert.equal(new RtspParseError("Invalid npt Range", 457).status, 457);
});
