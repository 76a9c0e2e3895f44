import assert from "node:assert/strict";
import { tupleKey } from "./tls_handshake_reaper.ts";
import { peerOf, sockaddr } from "./sockaddr.ts";

const at = (hostname: string, port: number): Deno.NetAddr => ({ transport: "tcp", hostname, port });

Deno.test("tupleKey: Deno's addresses key as the kernel's sockaddrs do (IPv4-mapped as IPv4, IPv6 in any spelling)", () => {
  assert.equal(
    tupleKey(at("::ffff:127.0.0.1", 8322), at("::ffff:10.0.0.7", 40000)),
    tupleKey(at("127.0.0.1", 8322), at("10.0.0.7", 40000)),
  );
  const v6 = tupleKey(at("2001:db8::1", 8322), at("2001:db8:0:0:1::2", 40000));
  assert.equal(
    v6,
    `${peerOf(sockaddr("2001:db8:0:0:0:0:0:1", 8322).addr)}|${
      peerOf(sockaddr("2001:db8::1:0:0:2", 40000).addr)
    }`,
  );
  assert.notEqual(
    tupleKey(at("127.0.0.1", 8322), at("10.0.0.7", 40001)),
    tupleKey(at("127.0.0.1", 8322), at("10.0.0.7", 40000)),
  );
  assert.equal(tupleKey(at("not an address", 1), at("127.0.0.1", 2)), null);
});
