/**
 * Self-signed certificates for RTSPS tests and the bench, made with `openssl` in a temp dir: an
 * end-entity certificate (CA:FALSE, which rustls needs of a server's certificate even when it is
 * its own trust anchor) for CN=localhost with the loopback addresses as subjectAltNames, valid one
 * day. A client trusts exactly it with `Deno.connectTls({ caCerts: [cert.cert] })`.
 */

/** A certificate, its key, and the files that hold them. */
export interface TestCert {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM text of the certificate and of its (unencrypted) key. */
  readonly cert: string;
  readonly key: string;
  /** Removes the temp dir. */
  remove(): Promise<void>;
}

/**
 * Makes a certificate; `ips` are its IP subjectAltNames (default 127.0.0.1), DNS:localhost besides.
 * Throws, saying so, when openssl is not installed.
 */
export async function makeTestCert(opts: { cn?: string; ips?: string[] } = {}): Promise<TestCert> {
  const dir = await Deno.makeTempDir({ prefix: "dm-live-tls-" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  const san = ["DNS:localhost", ...(opts.ips ?? ["127.0.0.1"]).map((ip) => `IP:${ip}`)].join(",");
  const args = [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${opts.cn ?? "localhost"}`,
    "-days",
    "1",
    "-addext",
    `subjectAltName=${san}`,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "openssl is needed to make the test certificate and is not installed (apt-get install openssl)",
      );
    }
    throw e;
  }
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`openssl req failed: ${new TextDecoder().decode(out.stderr).slice(-1000)}`);
  }
  return {
    dir,
    certFile,
    keyFile,
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}
