import assert from "node:assert/strict";
import {
  addressGroup,
  formatIp,
  formatNetwork,
  isV4Mapped,
  networkBase,
  networkContains,
  networkHasHostBits,
  parseIp,
  parseNetwork,
} from "./ip_address.ts";

const hex = (b: Uint8Array | null) =>
  b === null ? null : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("parseIp() reads IPv4 as IPv4-mapped and IPv6 in every RFC 4291 form", () => {
  const cases: [string, string][] = [
    ["1.2.3.4", "00000000000000000000ffff01020304"],
    ["0.0.0.0", "00000000000000000000ffff00000000"],
    ["255.255.255.255", "00000000000000000000ffffffffffff"],
    ["::ffff:1.2.3.4", "00000000000000000000ffff01020304"],
    ["::FFFF:0102:0304", "00000000000000000000ffff01020304"],
    ["::", "00000000000000000000000000000000"],
    ["::1", "00000000000000000000000000000001"],
    ["1::", "00010000000000000000000000000000"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"],
    ["2001:db8:0:0:1:0:0:1", "20010db8000000000001000000000001"],
    ["2001:DB8::1:0:0:1", "20010db8000000000001000000000001"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
    ["::2:3:4:5:6:7:8", "00000002000300040005000600070008"],
    ["64:ff9b::192.0.2.33", "0064ff9b0000000000000000c0000221"],
  ];
  for (const [text, want] of cases) assert.equal(hex(parseIp(text)), want, text);
});

Deno.test("parseIp() refuses what is not an address", () => {
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3.",
    ".1.2.3",
    "1..2.3",
    "1.2.3.4 ",
    "a.b.c.d",
    "localhost",
    ":",
    ":::",
    "1:::2",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "1:",
    ":1",
    "::g",
    "::1.2.3",
    "::1.2.3.4:5",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "[::1]",
  ];
  for (const text of bad) assert.equal(parseIp(text), null, JSON.stringify(text));
});

Deno.test("parseIp() writes into the buffer it is given", () => {
  const out = new Uint8Array(16).fill(7);
  assert.equal(parseIp("10.0.0.1", out), out);
  assert.equal(hex(out), "00000000000000000000ffff0a000001");
});

Deno.test("formatIp() writes dotted quads and RFC 5952 IPv6", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::", "::"],
    ["::1", "::1"],
    ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["fe80:0000::00ab", "fe80::ab"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run
  ];
  for (const [text, want] of cases) assert.equal(formatIp(parseIp(text)!), want, text);
  assert.equal(isV4Mapped(parseIp("::ffff:1.2.3.4")!), true);
  assert.equal(isV4Mapped(parseIp("::1.2.3.4")!), false);
});

Deno.test("parseNetwork() reads addresses and CIDRs with valid prefixes", () => {
  const ok: [string, number, string][] = [
    ["10.0.0.0/8", 104, "10.0.0.0/8"],
    ["0.0.0.0/0", 96, "0.0.0.0/0"],
    ["192.168.1.7", 128, "192.168.1.7"],
    ["192.168.1.7/32", 128, "192.168.1.7"],
    ["fd00::/8", 8, "fd00::/8"],
    ["::/0", 0, "::/0"],
    ["::1", 128, "::1"],
    ["::1/128", 128, "::1"],
  ];
  for (const [text, prefix, back] of ok) {
    const net = parseNetwork(text);
    assert.ok(net !== null, text);
    assert.equal(net.prefix, prefix, text);
    assert.equal(formatNetwork(net), back, text);
  }
  for (
    const text of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/08",
      "10.0.0.0/-1",
      "10/8",
      "fd00::/8/8",
      "x/8",
    ]
  ) {
    assert.equal(parseNetwork(text), null, text);
  }
});

Deno.test("networkContains() compares the prefix bits only", () => {
  const net = (t: string) => parseNetwork(t)!;
  const ip = (t: string) => parseIp(t)!;
  assert.equal(networkContains(net("10.0.0.0/8"), ip("10.255.1.2")), true);
  assert.equal(networkContains(net("10.0.0.0/8"), ip("11.0.0.0")), false);
  assert.equal(networkContains(net("10.0.0.0/8"), ip("::ffff:10.1.2.3")), true);
  assert.equal(networkContains(net("192.168.1.128/25"), ip("192.168.1.200")), true);
  assert.equal(networkContains(net("192.168.1.128/25"), ip("192.168.1.127")), false);
  assert.equal(networkContains(net("0.0.0.0/0"), ip("8.8.8.8")), true);
  assert.equal(networkContains(net("0.0.0.0/0"), ip("2001:db8::1")), false); // IPv4 rules never match IPv6
  assert.equal(networkContains(net("fd00::/8"), ip("fdab::1")), true);
  assert.equal(networkContains(net("fd00::/8"), ip("fe00::1")), false);
  assert.equal(networkContains(net("fd00::/7"), ip("fc00::1")), true);
  assert.equal(networkContains(net("::1"), ip("::1")), true);
  assert.equal(networkContains(net("::1"), ip("::2")), false);
  assert.equal(networkContains(net("::/0"), ip("1.2.3.4")), true);
});

Deno.test("networkHasHostBits() and networkBase() find and clear bits after the prefix", () => {
  const a = parseNetwork("10.0.0.1/8")!;
  assert.equal(networkHasHostBits(a), true);
  assert.equal(formatNetwork(networkBase(a)), "10.0.0.0/8");
  assert.equal(formatNetwork(a), "10.0.0.1/8"); // networkBase copies
  assert.equal(networkHasHostBits(parseNetwork("10.0.0.0/8")!), false);
  assert.equal(networkHasHostBits(parseNetwork("fd00::1/8")!), true);
  assert.equal(formatNetwork(networkBase(parseNetwork("fd00::1/8")!)), "fd00::/8");
  assert.equal(networkHasHostBits(parseNetwork("::1")!), false);
});

Deno.test("addressGroup(): IPv4 as itself, IPv6 by its /64, anything else unchanged", () => {
  assert.equal(addressGroup("192.0.2.7"), "192.0.2.7");
  assert.equal(addressGroup("::ffff:192.0.2.7"), "192.0.2.7", "IPv4-mapped is IPv4");
  assert.equal(addressGroup("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  assert.equal(addressGroup("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64", "same /64, one group");
  assert.notEqual(addressGroup("2001:db8:1:3::1"), addressGroup("2001:db8:1:2::1"), "another /64");
  assert.equal(addressGroup("fe80::1%eth0"), "fe80::/64");
  assert.equal(addressGroup("::1"), "::/64");
  assert.equal(addressGroup("tunnel-peer"), "tunnel-peer");
});
