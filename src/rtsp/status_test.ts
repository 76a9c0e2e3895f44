import assert from "node:assert/strict";
import { STATUS_CODE, STATUS_TEXT, statusText } from "./status.ts";

Deno.test("STATUS_TEXT has a phrase for every STATUS_CODE", () => {
  for (const code of Object.values(STATUS_CODE)) {
    assert.equal(typeof STATUS_TEXT[code], "string", `missing phrase for ${code}`);
  }
  assert.equal(Object.keys(STATUS_TEXT).length, Object.keys(STATUS_CODE).length);
});

Deno.test("STATUS_TEXT uses the RFC 2326 spelling", () => {
  assert.equal(STATUS_TEXT[STATUS_CODE.MethodNotValidInThisState], "Method Not Valid in This State");
  assert.equal(STATUS_TEXT[STATUS_CODE.UnsupportedTransport], "Unsupported transport");
  assert.equal(STATUS_TEXT[STATUS_CODE.RtspVersionNotSupported], "RTSP Version not supported");
});

Deno.test("statusText() falls back to the class for unknown codes", () => {
  const cases = [
    { code: 200, text: "OK" },
    { code: 454, text: "Session Not Found" },
    { code: 299, text: "OK" },
    { code: 302, text: "Redirection" },
    { code: 499, text: "Client Error" },
    { code: 599, text: "Server Error" },
    { code: 99, text: "Unknown" },
  ] as const;
  for (const c of cases) assert.equal(statusText(c.code), c.text);
});
