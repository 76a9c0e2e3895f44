import assert from "node:assert/strict";
import { Logger } from "../log/logger.ts";
import { libc } from "./libc.ts";
import { listenNoDelay, noDelayOf, tcpFdsOnPort } from "./listener_nodelay.ts";
import { readPem, TlsListener } from "./tls_listener.ts";
import { makeTestCert } from "./testdata/tls_cert.ts";

const linux = Deno.build.os === "linux";
// Loaded once for the whole file, outside any test (the sanitizers count a library a test loads).
if (linux) libc();
const FDS = 4096;

/** TCP_NODELAY of the server side of one TLS connection to a listener made with or without the tuner. */
async function acceptedNoDelay(tuned: boolean): Promise<{ listeners: number[]; accepted: number[] }> {
  const cert = await makeTestCert();
  const l = new TlsListener(
    "127.0.0.1",
    0,
    readPem(cert.certFile, cert.keyFile),
    new Logger("error"),
    tuned ? (listen) => listenNoDelay(listen).listener : undefined,
  );
  const got = Promise.withResolvers<void>();
  l.serve((sock) => {
    sock.read({ spare: () => new Uint8Array(16) }).then(() => got.resolve()).finally(() => sock.close());
  });
  const c = await Deno.connectTls({ hostname: "127.0.0.1", port: l.port, caCerts: [cert.cert] });
  try {
    await c.write(new Uint8Array([1]));
    await got.promise;
    return {
      listeners: tcpFdsOnPort(l.port, FDS, true).map(noDelayOf),
      accepted: tcpFdsOnPort(l.port, FDS, false).map(noDelayOf),
    };
  } finally {
    c.close();
    l.close();
    await cert.remove();
  }
}

Deno.test({
  name: "listenNoDelay(): Deno's TLS listener gets TCP_NODELAY, and the sockets it accepts inherit it",
  ignore: !linux,
  fn: async () => {
    const plain = await acceptedNoDelay(false);
    assert.deepEqual(plain, { listeners: [0], accepted: [0] }, "Deno leaves Nagle on for TLS connections");
    const tuned = await acceptedNoDelay(true);
    assert.deepEqual(tuned, { listeners: [1], accepted: [1] });
  },
});

Deno.test({
  name:
    "listenNoDelay() sets every listening TCP socket of the port (SO_REUSEPORT), no connection and no UDP socket",
  ignore: !linux,
  fn: () => {
    const a = listenNoDelay(() => Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true }));
    const port = (a.listener.addr as Deno.NetAddr).port;
    const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
    try {
      const b = listenNoDelay(() => Deno.listen({ hostname: "127.0.0.1", port, reusePort: true }));
      try {
        assert.equal(a.set, 1);
        assert.equal(b.set, 2, "both listeners of the port");
        assert.deepEqual(tcpFdsOnPort(port, FDS, true).map(noDelayOf), [1, 1]);
      } finally {
        b.listener.close();
      }
    } finally {
      udp.close();
      a.listener.close();
    }
  },
});
