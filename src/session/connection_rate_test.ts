import assert from "node:assert/strict";
import { ConnectionRate } from "./connection_rate.ts";

Deno.test("ConnectionRate: an address past its connections per second is refused until the next second; one log call per address and 10 s, with the count", () => {
  const logged: [string, number][] = [];
  const rate = new ConnectionRate((host, refused) => logged.push([host, refused]));
  const admitted = (host: string, n: number, at: number) => {
    let ok = 0;
    for (let i = 0; i < n; i++) if (rate.admit(host, 3, at)) ok++;
    return ok;
  };
  assert.equal(admitted("10.0.0.1", 10, 0), 3);
  assert.deepEqual(logged, [["10.0.0.1", 1]], "the first refusal says so at once");
  assert.equal(admitted("10.0.0.2", 2, 10), 2, "another address has its own count");
  assert.equal(admitted("10.0.0.1", 5, 999), 0, "the same second");
  assert.equal(admitted("10.0.0.1", 5, 1000), 3, "the next second");
  assert.deepEqual(logged, [["10.0.0.1", 1]], "no second line within 10 s");
  assert.equal(admitted("10.0.0.1", 4, 10_000), 3);
  assert.deepEqual(logged, [["10.0.0.1", 1], ["10.0.0.1", 13]], "the refusals since the last line");
  assert.equal(admitted("10.0.0.1", 4, 10_001), 0, "one more: counted, not logged");
  assert.equal(logged.length, 2);
  // 0: no bound.
  for (let i = 0; i < 100; i++) assert.ok(rate.admit("10.0.0.3", 0, 20_000));
  // Quiet addresses are forgotten; refusals not yet logged are logged then.
  rate.admit("10.0.0.4", 3, 20_000);
  assert.deepEqual(logged.at(-1), ["10.0.0.1", 5]);
  assert.equal(rate.size, 2, "10.0.0.2 forgotten; 10.0.0.1 kept until its next sweep");
  rate.admit("10.0.0.4", 3, 21_500);
  assert.equal(rate.size, 1);
  assert.equal(logged.length, 3);
});
