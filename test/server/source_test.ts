/** Paths pulled from another RTSP server (here another dm-live): one pull, on demand, retried. */
import assert from "node:assert/strict";
import type { ServerHandle } from "../../src/cluster/cluster.ts";
import type { SourceStatus } from "../../src/stats/reports.ts";
import { rtpSequence } from "../../src/rtp/rtp_header.ts";
import { withServer } from "../support/server.ts";
import { startPublisher, type SyntheticPublisher } from "../support/synthetic_publisher.ts";
import { playTcp } from "../support/viewers.ts";
import type { RtspTestClient } from "../support/rtsp_client.ts";
import { until } from "../support/proc.ts";

/**
 * Sends a frame every 30 ms until stopped (a 10-frame GOP), so viewers downstream keep getting
 * packets: a live stream's frame rate, not a synchronisation (tests wait for what they need).
 */
function pump(pub: SyntheticPublisher): { stop(): Promise<void> } {
  let on = true;
  const done = (async () => {
    while (on) {
      await pub.sendFrames(1);
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  return {
    async stop() {
      on = false;
      await done;
    },
  };
}

/** Sessions reading from a server (what the upstream sees of the relay's pulls). */
async function readers(server: ServerHandle, path: string): Promise<number> {
  return (await server.sessions()).filter((s) => s.role === "read" && s.path === path).length;
}

async function sources(server: ServerHandle): Promise<SourceStatus[]> {
  return (await server.stats()).flatMap((r) => r.sources);
}

/** The RTP sequence numbers a viewer got on its video channel, in order. */
function videoSeqs(v: RtspTestClient): number[] {
  return v.frames.filter((f) => f.channel === 0).map((f) => rtpSequence(f.payload, 0));
}

/** Whether each number follows the previous one (mod 2^16). */
function continuous(seqs: number[]): boolean {
  return seqs.every((s, i) => i === 0 || s === ((seqs[i - 1] + 1) & 0xffff));
}

for (const transport of ["tcp", "udp"] as const) {
  Deno.test(`a source pulled over ${transport.toUpperCase()} is pulled once for 20 viewers on 2 workers, who get every packet in order`, async () => {
    await withServer({}, async (up) => {
      const pub = await startPublisher(up.port, "live/cam");
      const p = pump(pub);
      try {
        await withServer({
          paths: {
            "relay/cam": { source: `rtsp://127.0.0.1:${up.port}/live/cam`, sourceTransport: transport },
          },
        }, async (relay) => {
          await until(
            async () => (await sources(relay)).some((s) => s.state === "playing"),
            10_000,
            "the pull",
          );
          const viewers: RtspTestClient[] = [];
          for (let i = 0; i < 20; i++) viewers.push(await playTcp(relay.port, "relay/cam"));
          try {
            for (const v of viewers) {
              assert.ok(await v.waitFrames((f) => f.filter((x) => x.channel === 0).length >= 40, 10_000));
              const seqs = videoSeqs(v);
              assert.ok(continuous(seqs), `in order, none missing: ${seqs.slice(0, 50)}`);
            }
            assert.equal(await readers(up, "live/cam"), 1, "the upstream sees one pull");
            const [s] = await sources(relay);
            assert.equal(s.transport, transport);
            assert.equal(s.attempts, 1);
            assert.ok(s.packets > 0 && s.bitrate > 0, JSON.stringify(s));
            const perWorker = new Set(
              (await relay.sessions()).filter((x) => x.role === "read").map((x) => x.worker),
            );
            assert.equal(perWorker.size, 2, "the viewers are spread over both workers");
          } finally {
            for (const v of viewers) v.close();
          }
        });
      } finally {
        await p.stop();
        pub.client.close();
      }
    });
  });
}

Deno.test("an on-demand source is pulled at the first viewer's DESCRIBE and stopped after the last viewer left", async () => {
  await withServer({}, async (up) => {
    const pub = await startPublisher(up.port, "live/cam");
    const p = pump(pub);
    try {
      await withServer({
        paths: {
          "~^relay/(.+)$": { source: `rtsp://127.0.0.1:${up.port}/live/$1`, sourceOnDemandCloseAfterMs: 300 },
        },
      }, async (relay) => {
        // The relay serves (it answers OPTIONS) and has pulled nothing.
        const probe = await playTcp(up.port, "live/cam");
        probe.close();
        // The probe's leaving reaches the upstream's API a moment after its close.
        await until(async () => (await readers(up, "live/cam")) === 0, 10_000, "the probe to leave");
        assert.deepEqual(await sources(relay), [], "no pull before a viewer asks");
        assert.equal(await readers(up, "live/cam"), 0, "no pull before a viewer asks");
        const first = await playTcp(relay.port, "relay/cam");
        assert.ok(await first.waitFrames((f) => f.length > 0, 10_000), "the first viewer gets packets");
        const gop = first.frames[0];
        assert.equal(gop.channel, 0);
        assert.equal(gop.payload[12] & 0x1f, 24, "its first packet starts the GOP (STAP-A with SPS/PPS)");
        const more: RtspTestClient[] = [];
        for (let i = 0; i < 49; i++) more.push(await playTcp(relay.port, "relay/cam")); // 50 in all, on both workers
        assert.equal(await readers(up, "live/cam"), 1, "one pull for 50 viewers");
        const perWorker = (await relay.stats()).filter((r) => r.worker < relay.workers).map((r) =>
          r.viewersPlaying
        );
        assert.equal(perWorker.length, 2);
        assert.ok(perWorker.every((n) => n > 0), `viewers on every worker: ${perWorker}`);
        first.close();
        for (const v of more) v.close();
        await until(async () => (await readers(up, "live/cam")) === 0, 10_000, "the pull to stop");
        assert.deepEqual(await sources(relay), [], "the runner is gone");
      });
    } finally {
      await p.stop();
      pub.client.close();
    }
  });
});

Deno.test("a source that goes away is retried with backoff; its viewers keep their session and a continuous sequence", async () => {
  // The upstream's own grace off: its stream ends with its publisher, so the relay's pull fails.
  await withServer({ "ingest.reconnectGraceMs": 0 }, async (up) => {
    let pub = await startPublisher(up.port, "live/cam");
    let p = pump(pub);
    try {
      await withServer({
        paths: {
          "relay/cam": {
            source: `rtsp://127.0.0.1:${up.port}/live/cam`,
            sourceTransport: "tcp",
            sourceRetryMinMs: 100,
            sourceRetryMaxMs: 400,
          },
        },
      }, async (relay) => {
        await until(async () => (await sources(relay))[0]?.state === "playing", 10_000, "the pull");
        const v = await playTcp(relay.port, "relay/cam");
        try {
          assert.ok(await v.waitFrames((f) => f.filter((x) => x.channel === 0).length >= 20, 10_000));
          // The upstream loses its stream: the relay's pull ends (404 on the next DESCRIBEs) and retries.
          await p.stop();
          pub.client.close();
          await until(async () => (await sources(relay))[0]?.failures >= 3, 15_000, "failed attempts");
          const before = videoSeqs(v).length;
          pub = await startPublisher(up.port, "live/cam");
          p = pump(pub);
          await until(async () => (await sources(relay))[0]?.state === "playing", 15_000, "the pull again");
          assert.ok(
            await v.waitFrames((f) => f.filter((x) => x.channel === 0).length >= before + 20, 10_000),
          );
          assert.equal(v.closed, false, "the viewer kept its session");
          assert.ok(continuous(videoSeqs(v)), "one continuous sequence across the gap");
          const [s] = await sources(relay);
          assert.ok(s.attempts >= 4 && /404/.test(String(s.lastError ?? "404")), JSON.stringify(s));
        } finally {
          v.close();
        }
      });
    } finally {
      await p.stop();
      pub.client.close();
    }
  });
});

Deno.test("a source with a wrong password: 401 at each attempt, retried, counted, its password kept out of the API", async () => {
  await withServer({
    paths: { "~^.*$": { read: { users: [{ user: "cam", pass: "right" }] } } },
  }, async (up) => {
    const pub = await startPublisher(up.port, "live/cam");
    try {
      await withServer({
        paths: {
          "relay/cam": {
            source: `rtsp://cam:wrong@127.0.0.1:${up.port}/live/cam`,
            sourceTransport: "tcp",
            sourceRetryMinMs: 50,
            sourceRetryMaxMs: 100,
          },
        },
      }, async (relay) => {
        await until(async () => (await sources(relay))[0]?.failures >= 4, 15_000, "four failed attempts");
        const [s] = await sources(relay);
        assert.equal(s.state === "retrying" || s.state === "connecting", true);
        assert.match(s.lastError!, /DESCRIBE: 401 Unauthorized \(credentials refused\)/);
        assert.equal(s.url, `rtsp://127.0.0.1:${up.port}/live/cam`, "no password in the API");
        // Viewers get 503 meanwhile: playTcp's DESCRIBE assertion; any other error is shown as it is.
        await assert.rejects(playTcp(relay.port, "relay/cam"), /DESCRIBE: 503/);
      });
    } finally {
      pub.client.close();
    }
  });
});

Deno.test("a source tunnelled through HTTP (rtsph://) is pulled through the upstream's tunnel port", async () => {
  // rtsp.tunnelPort cannot be 0 (that is off): a reserved port (test/support/ports.ts).
  await withServer({}, async (up, _config, _log, [tunnelPort]) => {
    const pub = await startPublisher(up.port, "live/cam");
    const p = pump(pub);
    try {
      await withServer({
        paths: { "relay/cam": { source: `rtsph://127.0.0.1:${tunnelPort}/live/cam` } },
      }, async (relay) => {
        await until(async () => (await sources(relay))[0]?.state === "playing", 10_000, "the pull");
        const [s] = await sources(relay);
        assert.equal(s.transport, "tcp", "interleaved in the tunnel");
        assert.equal(s.url, `rtsph://127.0.0.1:${tunnelPort}/live/cam`);
        const v = await playTcp(relay.port, "relay/cam");
        try {
          assert.ok(await v.waitFrames((f) => f.filter((x) => x.channel === 0).length >= 30, 10_000));
          assert.ok(continuous(videoSeqs(v)));
        } finally {
          v.close();
        }
        assert.equal(await readers(up, "live/cam"), 1);
      });
    } finally {
      await p.stop();
      pub.client.close();
    }
  }, { tcpPorts: 1, configure: ([tunnelPort]) => ({ "rtsp.tunnelPort": tunnelPort }) });
});
