/**
 * Credentials in the URL with real clients: ffmpeg publishes and ffprobe plays a protected path
 * (Digest MD5, as both pick it over Basic), GStreamer plays it, and each with a wrong password is
 * refused. With Basic alone and with SHA-256 offered, the same clients still get in.
 */
import assert from "node:assert/strict";
import { ffmpegPublisher, ffprobeFrames, gstDecode, interopTest } from "./clients.ts";
import { serverWithPublisher } from "./published_server.ts";

// GStreamer answers Digest in the RFC 2069 form, which dm-live takes only with auth.allowRfc2069.
const CONFIG = (auth: string) => `
auth:
${auth}
  allowRfc2069: true
paths:
  cams/front:
    publish:
      users: [{user: cam, pass: "c4m p@ss"}]
    read:
      users: [{user: view, pass: watch}]
`;

/** A server with the config above and ffmpeg publishing with the camera's credentials. */
async function securedServer(auth = "  methods: [basic, digest]") {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/dm-live.yaml`;
  await Deno.writeTextFile(file, CONFIG(auth));
  const withCreds = (url: string, cred: string) => url.replace("rtsp://", `rtsp://${cred}@`);
  const s = await serverWithPublisher(
    "cams/front",
    (url) => ffmpegPublisher(withCreds(url, "cam:c4m%20p%40ss")),
    ["--config", file],
  );
  return {
    server: s.server,
    at: (cred: string) => withCreds(s.server.url("cams/front"), cred),
    async stop() {
      await s.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interopTest("ffmpeg publishes and ffprobe plays with credentials in the URL; wrong ones get 401", [
  "ffmpeg",
  "ffprobe",
], async () => {
  const s = await securedServer();
  try {
    assert.match(s.server.log, /\[path cams\/front\] ANNOUNCE: [^\n]* \(user 'cam'\)/);
    const good = await ffprobeFrames(s.at("view:watch"), "tcp", 5);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.lines[0], "1,I");
    assert.match(s.server.log, /\[path cams\/front\] PLAY: [^\n]* \(user 'view'\)/);

    const bad = await ffprobeFrames(s.at("view:wrong"), "tcp", 5);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /401 Unauthorized/);
    const none = await ffprobeFrames(`rtsp://127.0.0.1:${s.server.port}/cams/front`, "tcp", 5);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /401 Unauthorized/);
    // The failure is logged with the peer; the first, credential-less 401s are not warnings.
    assert.match(
      s.server.log,
      /\[conn 127\.0\.0\.1:\d+\] DESCRIBE [^\n]*: 401 read 'cams\/front'[^\n]*wrong password/,
    );
  } finally {
    await s.stop();
  }
});

interopTest("GStreamer plays a protected path with credentials in the URL, and fails without them", [
  "ffmpeg",
  "gst-launch-1.0",
], async () => {
  const s = await securedServer();
  try {
    const r = await gstDecode(s.at("view:watch"), "tcp", (r) => r.video > 30 && r.audio > 30);
    assert.ok(r.video > 30, `decoded ${r.video} video frames`);
    assert.ok(r.audio > 30, `decoded ${r.audio} audio frames`);
    assert.deepEqual(r.problems, []);
    // Until it says why it got nothing (or gives up and exits).
    const bad = await gstDecode(
      s.at("view:wrong"),
      "tcp",
      (r) => r.problems.some((l) => /Unauthorized|not authorized/i.test(l)),
    );
    assert.equal(bad.video, 0);
    assert.ok(bad.problems.some((l) => /Unauthorized|not authorized/i.test(l)), bad.problems.join("\n"));
  } finally {
    await s.stop();
  }
});

interopTest("Basic only, and SHA-256 offered with MD5: ffmpeg, ffprobe and GStreamer still get in", [
  "ffmpeg",
  "ffprobe",
  "gst-launch-1.0",
], async () => {
  for (const auth of ["  methods: [basic]", "  methods: [digest]\n  digestAlgorithms: [SHA-256, MD5]"]) {
    const s = await securedServer(auth);
    try {
      const good = await ffprobeFrames(s.at("view:watch"), "tcp", 5);
      assert.equal(good.code, 0, `${auth}: ${good.stderr}`);
      assert.equal(good.lines[0], "1,I");
      const r = await gstDecode(s.at("view:watch"), "tcp", (r) => r.video > 20);
      assert.ok(r.video > 20, `${auth}: GStreamer decoded ${r.video} video frames`);
    } finally {
      await s.stop();
    }
  }
});
