/**
 * Camera dialects seen in the field, each replayed by a scriptable fake camera (raw sockets), and
 * what dm-live's client must do with it: a golden table of (dialect, the SETUP URLs it must send,
 * what its viewers must get).
 */
import assert from "node:assert/strict";
import { rtpSequence } from "../../src/rtp/rtp_header.ts";
import type { SourceStatus } from "../../src/stats/reports.ts";
import { type CameraDialect, cameraSdp, FakeCamera } from "../support/fake_camera.ts";
import { until } from "../support/proc.ts";
import type { Frame } from "../support/rtsp_client.ts";
import { withServer } from "../support/server.ts";
import { playTcp } from "../support/viewers.ts";

interface DialectCase {
  name: string;
  /** The camera's path (its URL in `source`). */
  path?: string;
  dialect: (cam: { port: number }) => CameraDialect;
  /** The URLs the client must SETUP, in order. */
  setups: (cam: { port: number }) => string[];
  /** NAL type of the first video packet a viewer gets: 24 (STAP-A with SPS/PPS) or 5 (IDR). */
  firstNal?: number;
  /** Tracks the stream has (default 1). */
  tracks?: number;
  /** An extra check once the viewer has packets. */
  check?: (cam: FakeCamera, frames: Frame[]) => Promise<void> | void;
}

const at = (cam: { port: number }, path: string) => `rtsp://127.0.0.1:${cam.port}/${path}`;

const CASES: DialectCase[] = [
  {
    name: "well-behaved: Content-Base is the URL with a slash, controls trackID=N",
    dialect: () => ({}),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "no Content-Base: controls resolve against the request URL",
    dialect: () => ({ contentBase: () => undefined }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "a relative Content-Base (/path/)",
    path: "live/ch0",
    dialect: () => ({ contentBase: () => "/live/ch0/", sdp: () => cameraSdp(["video"]) }),
    setups: (c) => [at(c, "live/ch0/video")],
  },
  {
    name: "controls with query strings",
    path: "cam?channel=1&subtype=0",
    dialect: () => ({
      contentBase: () => undefined,
      sdp: () => cameraSdp(["trackID=1?channel=1&subtype=0"]),
    }),
    setups: (c) => [at(c, "cam/trackID=1?channel=1&subtype=0")],
  },
  {
    name: "the base's query goes after a relative control",
    path: "Streaming/Channels/101?transportmode=unicast",
    dialect: () => ({ contentBase: () => undefined }),
    setups: (c) => [at(c, "Streaming/Channels/101/trackID=1?transportmode=unicast")],
  },
  {
    name: "an absolute control naming another host",
    dialect: () => ({ sdp: () => cameraSdp(["rtsp://camera.invalid:554/media/video1"]) }),
    setups: () => ["rtsp://camera.invalid:554/media/video1"],
  },
  {
    name: "a=control:* on the only track",
    dialect: () => ({ sdp: () => cameraSdp(["*"]) }),
    setups: (c) => [at(c, "cam/")],
  },
  {
    name: "a session-level absolute control is the base",
    dialect: (c) => ({ sdp: () => cameraSdp(["track1"], { sessionControl: at(c, "base/") }) }),
    setups: (c) => [at(c, "base/track1")],
  },
  {
    name: "a session id with ;timeout=, and GET_PARAMETER refused: keep-alives switch to OPTIONS",
    dialect: () => ({ session: "ABCDEF0123;timeout=2", getParameterStatus: 405 }),
    setups: (c) => [at(c, "cam/trackID=1")],
    async check(cam) {
      await until(
        () => {
          const i = cam.requests.findIndex((r) => r.method === "GET_PARAMETER");
          return i >= 0 && cam.requests.slice(i + 1).some((r) => r.method === "OPTIONS");
        },
        10_000,
        "an OPTIONS keep-alive after the refused GET_PARAMETER",
      );
      for (const r of cam.requests.filter((x) => x.method !== "OPTIONS" && x.method !== "DESCRIBE")) {
        if (r.method === "SETUP" && cam.sent("SETUP")[0] === r) continue;
        assert.equal(
          r.headers.get("Session"),
          "ABCDEF0123",
          `${r.method} names the session without ;timeout=`,
        );
      }
    },
  },
  {
    name: "a static payload type without a=rtpmap (PCMU)",
    dialect: () => ({ sdp: () => cameraSdp(["trackID=1", "trackID=2"], { audio: true }) }),
    setups: (c) => [at(c, "cam/trackID=1"), at(c, "cam/trackID=2")],
    tracks: 2,
    check(_cam, frames) {
      assert.ok(
        frames.some((f) => f.channel === 2 && (f.payload[1] & 0x7f) === 0),
        "PCMU packets reach the viewer",
      );
    },
  },
  {
    name: "SDP with odd spacing and IN IPV4",
    dialect: () => ({ sdp: () => cameraSdp(["trackID=1"], { odd: true }) }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "RTP-Info in PLAY (or not: the default) changes nothing",
    dialect: () => ({ rtpInfo: true }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "no RTP marker bits: frames still leave (ingest.maxFrameHoldMs)",
    dialect: () => ({ marker: false }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "interleaved channels other than asked",
    dialect: () => ({ channels: (t) => [10 + 2 * t, 11 + 2 * t] }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "a stream that begins without a keyframe: viewers start at the first one",
    dialect: () => ({ startWithoutKeyframe: true }),
    setups: (c) => [at(c, "cam/trackID=1")],
  },
  {
    name: "timestamps that jump: packets keep flowing in sequence",
    dialect: () => ({ timestampJump: 90000 * 3600 }),
    setups: (c) => [at(c, "cam/trackID=1")],
    check(_cam, frames) {
      const ts = frames.filter((f) => f.channel === 0).map((f) =>
        new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(4)
      );
      assert.ok(ts.some((t, i) => i > 0 && t - ts[i - 1] > 90000), "the jump is relayed as it came");
    },
  },
  {
    name: "DESCRIBE redirected twice (302, then 301): each Location is followed",
    path: "old",
    dialect: (c) => ({
      redirect: (url) =>
        url.endsWith("/old")
          ? { status: 302, location: at(c, "older") }
          : url.endsWith("/older")
          ? { status: 301, location: at(c, "cam") }
          : undefined,
    }),
    setups: (c) => [at(c, "cam/trackID=1")],
    check(cam) {
      assert.deepEqual(cam.sent("DESCRIBE").map((r) => new URL(r.url).pathname), ["/old", "/older", "/cam"]);
    },
  },
  {
    name: "SPS/PPS only in the SDP: put in before each IDR, viewers start at them, the sequence has no gap",
    dialect: () => ({ inBandParameterSets: false }),
    setups: (c) => [at(c, "cam/trackID=1")],
    check(_cam, frames) {
      const video = frames.filter((f) => f.channel === 0);
      const idr = video.findIndex((f, i) => i > 0 && (f.payload[12] & 0x1f) === 5);
      assert.ok(idr > 0, "a second IDR came");
      assert.equal(video[idr - 1].payload[12] & 0x1f, 24, "with a STAP-A (SPS, PPS) right before it");
    },
  },
];

for (const c of CASES) {
  Deno.test(`dialect: ${c.name}`, async () => {
    // The dialect may name the camera's own port, known once it listens (read at each request).
    const ref = { port: 0 };
    const real = new FakeCamera(c.dialect(ref));
    ref.port = real.port;
    try {
      await withServer({
        paths: { "cams/x": { source: real.url(c.path ?? "cam"), sourceTransport: "tcp" } },
      }, async (relay) => {
        const sources = async (): Promise<SourceStatus[]> => (await relay.stats()).flatMap((r) => r.sources);
        await until(async () => (await sources())[0]?.state === "playing", 10_000, "the pull");
        assert.deepEqual(real.sent("SETUP").map((r) => r.url), c.setups(real));
        const v = await playTcp(relay.port, "cams/x");
        try {
          assert.ok(
            await v.waitFrames((f) => f.filter((x) => x.channel === 0).length >= 25, 10_000),
            "packets",
          );
          const video = v.frames.filter((f) => f.channel === 0);
          assert.equal(video[0].payload[12] & 0x1f, c.firstNal ?? 24, "the viewer starts at a GOP start");
          const seqs = video.map((f) => rtpSequence(f.payload, 0));
          assert.ok(seqs.every((s, i) => i === 0 || s === ((seqs[i - 1] + 1) & 0xffff)), "in order");
          assert.equal((await sources())[0].failures, 0, JSON.stringify(await sources()));
          await c.check?.(real, v.frames);
        } finally {
          v.close();
        }
      });
    } finally {
      real.close();
    }
  });
}

Deno.test("a camera that redirects without end: the attempt fails after 5 hops, logged as such, and is retried", async () => {
  const ref = { port: 0 };
  const cam = new FakeCamera({
    redirect: (url) => ({ status: 302, location: `rtsp://127.0.0.1:${ref.port}/hop${url.length}` }),
  });
  ref.port = cam.port;
  try {
    await withServer({
      paths: { "cams/x": { source: cam.url("cam"), sourceTransport: "tcp", sourceRetryMinMs: 100 } },
    }, async (relay) => {
      const sources = async (): Promise<SourceStatus[]> => (await relay.stats()).flatMap((r) => r.sources);
      await until(async () => ((await sources())[0]?.failures ?? 0) >= 2, 10_000, "two failed attempts");
      const s = (await sources())[0];
      assert.match(s.lastError ?? "", /too many redirects/);
      assert.notEqual(s.state, "playing");
      // Each attempt follows 5 redirects, then gives up: 6 DESCRIBEs per failed attempt.
      assert.ok(cam.sent("DESCRIBE").length >= 12, `${cam.sent("DESCRIBE").length} DESCRIBEs`);
    });
  } finally {
    cam.close();
  }
});
