import assert from "node:assert/strict";
import { type PacedStream, type PaceInputs, ReadPace } from "./read_pace.ts";

function stream(publisherWorker: number, promptViewers = 0, promptReaders = 0): PacedStream {
  return { publisherWorker, promptViewers, ring: { promptReaders: () => promptReaders } };
}

function inputs(
  over: Partial<
    { streams: PacedStream[]; udp: number; requests: number; tick: number; slow: number; merge: number }
  > = {},
) {
  const s = { streams: [] as PacedStream[], udp: 0, requests: 0, tick: 1, slow: 20, merge: 0, ...over };
  const i: PaceInputs = {
    worker: 0,
    streams: () => s.streams,
    udpIngest: () => s.udp,
    requests: () => s.requests,
    readTickMs: () => s.tick,
    unwatchedReadTickMs: () => s.slow,
    mergeWindowMs: () => s.merge,
  };
  return { s, pace: new ReadPace(i, 0) };
}

Deno.test("ReadPace: the slow tick while no one waits; the fast one for each kind of waiter", () => {
  const { s, pace } = inputs({ streams: [stream(0), stream(1)] });
  assert.equal(pace.tickMs(0), 20, "publishers here, nobody watching");

  s.streams = [stream(0), stream(1, 1)];
  assert.equal(pace.tickMs(0), 1, "a viewer on this worker, of a stream published elsewhere");

  s.streams = [stream(0, 0, 1)];
  assert.equal(pace.tickMs(0), 1, "a stream published here has viewers on some worker");

  s.streams = [stream(1, 0, 2)];
  assert.equal(pace.tickMs(0), 20, "viewers elsewhere of a stream published elsewhere");

  s.streams = [stream(0)];
  s.udp = 1;
  assert.equal(pace.tickMs(0), 1, "a UDP publisher's datagrams share one socket buffer");
  s.udp = 0;
  assert.equal(pace.tickMs(0), 20);

  // Open merge window: the fast tick is the longer readTick, still fast.
  s.streams = [stream(0, 3)];
  s.merge = 33;
  assert.equal(pace.tickMs(0), 4);
});

Deno.test("ReadPace: an RTSP request keeps the fast tick for a second; counts before the first look are no news", () => {
  const { s, pace } = inputs({ requests: 7 });
  assert.equal(pace.tickMs(0), 20, "the first look learns the count");
  s.requests = 8;
  assert.equal(pace.tickMs(5000), 1);
  assert.equal(pace.tickMs(5999), 1);
  assert.equal(pace.tickMs(6000), 20);
  s.requests = 9;
  assert.equal(pace.tickMs(6500), 1);
  assert.equal(pace.tickMs(7499), 1);
  assert.equal(pace.tickMs(7500), 20);
});

Deno.test("ReadPace: no tick stays no tick; a slow tick not above the fast one is the fast one", () => {
  assert.equal(inputs({ tick: 0 }).pace.tickMs(0), 0, "readTickMs 0: blocking waits only");
  assert.equal(inputs({ slow: 0 }).pace.tickMs(0), 1, "unwatchedReadTickMs 0: off");
  assert.equal(inputs({ tick: 5, slow: 3 }).pace.tickMs(0), 5);
  assert.equal(inputs({ tick: 5, slow: 6 }).pace.tickMs(0), 6);
});

Deno.test("ReadPace: one look at the inputs stands for recheckMs", () => {
  const s = { viewers: 0 };
  const pace = new ReadPace({
    worker: 0,
    streams: () => [stream(0, s.viewers)],
    udpIngest: () => 0,
    requests: () => 0,
    readTickMs: () => 1,
    unwatchedReadTickMs: () => 20,
    mergeWindowMs: () => 0,
  }, 5);
  assert.equal(pace.tickMs(100), 20);
  s.viewers = 1;
  assert.equal(pace.tickMs(104), 20, "within 5 ms of the last look");
  assert.equal(pace.tickMs(105), 1, "looked again");
  s.viewers = 0;
  assert.equal(pace.tickMs(50), 20, "a clock that went back looks again");
});
