import assert from "node:assert/strict";
import { IpAllowList } from "./ip_allow.ts";
import { parseIp } from "./ip_address.ts";

Deno.test("IpAllowList with no entries allows every address, even an unparsable one", () => {
  const list = new IpAllowList([]);
  assert.equal(list.isEmpty, true);
  assert.equal(list.allowsPeer("1.2.3.4"), true);
  assert.equal(list.allowsPeer("::1"), true);
  assert.equal(list.allowsPeer("not an address"), true);
});

Deno.test("IpAllowList matches addresses and CIDRs of both families", () => {
  const list = new IpAllowList(["127.0.0.1", "10.0.0.0/8", "192.168.1.0/24", "::1", "fd00::/8"]);
  assert.equal(list.isEmpty, false);
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.0.0.2", false],
    ["10.20.30.40", true],
    ["11.0.0.1", false],
    ["192.168.1.255", true],
    ["192.168.2.1", false],
    ["::ffff:10.1.1.1", true], // dual-stack socket's view of an IPv4 client
    ["::ffff:127.0.0.1", true],
    ["::ffff:8.8.8.8", false],
    ["::1", true],
    ["::2", false],
    ["fd12:3456::1", true],
    ["fe80::1%eth0", false],
    ["2001:db8::1", false],
    ["garbage", false],
    ["", false],
  ];
  for (const [peer, want] of cases) assert.equal(list.allowsPeer(peer), want, peer);
  assert.equal(list.allows(parseIp("10.0.0.1")), true);
  assert.equal(list.allows(null), false);
});

Deno.test("IpAllowList IPv6-written rules for mapped addresses match IPv4 peers", () => {
  const list = new IpAllowList(["::ffff:10.0.0.0/104"]);
  assert.equal(list.allowsPeer("10.9.9.9"), true);
  assert.equal(list.allowsPeer("11.0.0.1"), false);
});

Deno.test("IpAllowList refuses an invalid entry, naming it", () => {
  assert.throws(() => new IpAllowList(["10.0.0.0/8", "10.0.0.0/40"]), /"10\.0\.0\.0\/40"/);
  assert.throws(() => new IpAllowList(["example.com"]), TypeError);
});
