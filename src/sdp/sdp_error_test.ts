import assert from "node:assert/strict";
import { SdpError } from "./sdp_error.ts";

Deno.test("SdpError is a named SyntaxError", () => {
  const err = new SdpError("First line must be v=0");
  assert.ok(err instanceof SyntaxError);
  assert.equal(err.name, "SdpError");
  assert.equal(err.message, "First line must be v=0");
});
