import assert from "node:assert/strict";
import { Deadline, DeadlineQueue } from "../clock/deadlines.ts";
import { EpollPoller, readTick } from "./epoll_poller.ts";
import { layout, libc, LINUX } from "./libc.ts";
import { sockaddr, SOCKADDR_BYTES } from "./sockaddr.ts";

// libc stays loaded for the life of the process, as in the server: load it before any test runs.
libc();

/** A nonblocking UDP socket on 127.0.0.1 and its sockaddr (a free port). */
function udpSocket(): { fd: number; addr: Uint8Array } {
  const c = libc();
  const fd = c.socket(LINUX.AF_INET, LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0, "socket");
  assert.equal(c.bind(fd, sockaddr("127.0.0.1", 0).addr, 16), 0, "bind");
  const addr = new Uint8Array(SOCKADDR_BYTES);
  const len = new Uint32Array([SOCKADDR_BYTES]);
  assert.equal(c.getsockname(fd, addr, new Uint8Array(len.buffer)), 0, "getsockname");
  return { fd, addr: addr.subarray(0, 16) };
}

/** Sends one datagram from `from` to `to`, which makes `to` readable. */
function poke(from: number, to: Uint8Array): void {
  const msg = new Uint8Array([1, 2, 3]);
  assert.equal(libc().sendto(from, msg, 3n, 0, to, to.length), 3, "sendto");
}

Deno.test(`struct epoll_event of ${Deno.build.arch}: the kernel returns each fd at the layout's offsets`, async () => {
  const c = libc();
  const ev = layout().epollEvent;
  const ep = c.epoll_create1(LINUX.EPOLL_CLOEXEC);
  const sender = udpSocket();
  const a = udpSocket();
  const b = udpSocket();
  try {
    const ctl = new Uint8Array(ev.size);
    const v = new DataView(ctl.buffer);
    for (const s of [a, b]) {
      v.setUint32(ev.events, LINUX.EPOLLIN, true);
      v.setUint32(ev.data, s.fd, true);
      v.setUint32(ev.data + 4, 0, true);
      assert.equal(c.epoll_ctl(ep, LINUX.EPOLL_CTL_ADD, s.fd, ctl), 0, "epoll_ctl ADD");
    }
    poke(sender.fd, a.addr);
    poke(sender.fd, b.addr);
    // Room for 4 events, filled with a pattern: entries the kernel writes show where each one
    // starts (the struct's size) and where its data sits.
    const out = new Uint8Array(4 * ev.size).fill(0xee);
    const n = await c.epoll_wait(ep, out, 4, 2000);
    assert.equal(n, 2, "both sockets readable");
    const o = new DataView(out.buffer);
    const seen = [0, 1].map((i) => ({
      events: o.getUint32(i * ev.size + ev.events, true),
      fd: Number(o.getBigUint64(i * ev.size + ev.data, true)),
    }));
    assert.deepEqual(seen.map((s) => s.fd).sort((x, y) => x - y), [a.fd, b.fd].sort((x, y) => x - y));
    for (const s of seen) assert.equal(s.events & LINUX.EPOLLIN, LINUX.EPOLLIN);
    assert.ok(out.subarray(2 * ev.size).every((x) => x === 0xee), "nothing written past two entries");
  } finally {
    for (const fd of [a.fd, b.fd, sender.fd, ep]) c.close(fd);
  }
});

Deno.test("EpollPoller hands a registered fd's event to that fd's target only", async () => {
  const c = libc();
  const errors: unknown[] = [];
  const poller = new EpollPoller((e) => errors.push(e));
  const running = poller.run();
  const sender = udpSocket();
  const quiet = udpSocket();
  const busy = udpSocket();
  const heard: [string, number][] = [];
  const got = Promise.withResolvers<number>();
  poller.add(quiet.fd, { onEvents: (e) => heard.push(["quiet", e]) });
  poller.add(busy.fd, {
    onEvents: (e) => {
      heard.push(["busy", e]);
      got.resolve(e);
    },
  });
  const timer = setTimeout(() => got.reject(new Error(`no event for fd ${busy.fd}`)), 5000);
  try {
    poke(sender.fd, busy.addr);
    const events = await got.promise;
    assert.equal(events & LINUX.EPOLLIN, LINUX.EPOLLIN);
    assert.deepEqual(heard.map(([who]) => who), ["busy"], "the quiet fd's target heard nothing");
    assert.deepEqual(errors, []);
  } finally {
    clearTimeout(timer);
    poller.remove(quiet.fd);
    poller.remove(busy.fd);
    poller.stop();
    await running;
    for (const fd of [quiet.fd, busy.fd, sender.fd]) c.close(fd);
  }
});

/** Reads every datagram waiting on fd (an edge-triggered target must drain). */
function drain(fd: number): void {
  const buf = new Uint8Array(64);
  while (libc().recvfrom(fd, buf, 64n, 0, null, null) > 0) { /* next */ }
}

/** Resolves once `cond` holds, checked every few ms; rejects after 5 s naming `what`. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

Deno.test("EpollPoller: dense events are asked for on the tick, sparse ones by the blocking wait again", async () => {
  const c = libc();
  const errors: unknown[] = [];
  const poller = new EpollPoller((e) => errors.push(e), () => 1);
  const running = poller.run();
  const sender = udpSocket();
  const target = udpSocket();
  let heard = 0;
  let echo = true;
  // Each event answered at once with the next datagram: the events come as dense as they can.
  poller.add(target.fd, {
    onEvents: () => {
      heard++;
      drain(target.fd);
      if (echo && heard < 300) poke(sender.fd, target.addr);
    },
  });
  try {
    poke(sender.fd, target.addr);
    await until(() => heard >= 300, "300 events in a row");
    assert.ok(poller.ticks > 0, "the dense events were asked for on the tick");
    echo = false;
    // With nothing coming, the ticks find nothing and the poller goes back to the blocking wait.
    const waits = poller.blockingWaits;
    await until(() => poller.blockingWaits > waits, "the return to the blocking wait");
    const ticks = poller.ticks;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(poller.ticks, ticks, "no ticks while idle");
    // And an event after the idle spell is still heard.
    const before = heard;
    poke(sender.fd, target.addr);
    await until(() => heard > before, "an event after the idle spell");
    assert.deepEqual(errors, []);
  } finally {
    poller.remove(target.fd);
    poller.stop();
    await running;
    for (const fd of [target.fd, sender.fd]) c.close(fd);
  }
});

Deno.test("EpollPoller: with tickMs 0 every wait is the blocking one; stop() ends run() while ticking", async () => {
  const c = libc();
  for (const tickMs of [0, 1]) {
    const poller = new EpollPoller(() => {}, () => tickMs);
    const running = poller.run();
    const sender = udpSocket();
    const target = udpSocket();
    let heard = 0;
    poller.add(target.fd, {
      onEvents: () => {
        heard++;
        drain(target.fd);
        poke(sender.fd, target.addr);
      },
    });
    try {
      poke(sender.fd, target.addr);
      await until(() => heard >= 100, "100 events in a row");
      if (tickMs === 0) assert.equal(poller.ticks, 0, "tickMs 0: no ticks");
      else assert.ok(poller.ticks > 0, "ticking when stopped");
    } finally {
      poller.remove(target.fd);
      poller.stop();
      await running;
      for (const fd of [target.fd, sender.fd]) c.close(fd);
    }
  }
});

Deno.test("readTick: readTickMs while idle, a quarter of an open merge window up to four times it, 0 off", () => {
  assert.equal(readTick(1, 0), 1);
  assert.equal(readTick(1, 8), 2);
  assert.equal(readTick(1, 33), 4);
  assert.equal(readTick(2, 4), 2);
  assert.equal(readTick(0, 33), 0);
});

Deno.test("EpollPoller: stop() from a target's handler mid-tick closes the epoll fd once", async () => {
  const c = libc();
  const poller = new EpollPoller(() => {}, () => 1);
  const running = poller.run();
  const sender = udpSocket();
  const target = udpSocket();
  let heard = 0;
  const opened: { fd: number }[] = [];
  poller.add(target.fd, {
    onEvents: () => {
      heard++;
      drain(target.fd);
      if (poller.ticks === 0) return poke(sender.fd, target.addr);
      // Once ticking, the handler stops the poller from inside the tick's dispatch, then opens a
      // socket: it takes the epoll fd's number, which a second close would close.
      poller.stop();
      opened.push(udpSocket());
    },
  });
  poke(sender.fd, target.addr);
  await running;
  assert.equal(opened.length, 1);
  const next = opened[0];
  const addr = new Uint8Array(SOCKADDR_BYTES);
  const len = new Uint32Array([SOCKADDR_BYTES]);
  assert.equal(c.getsockname(next.fd, addr, new Uint8Array(len.buffer)), 0, "the next fd is still open");
  assert.ok(heard > 1);
  for (const fd of [target.fd, sender.fd, next.fd]) c.close(fd);
});

Deno.test("EpollPoller: while ticking, the worker's deadlines run at the ticks; after, on their own timer", async () => {
  const c = libc();
  const q = new DeadlineQueue();
  const poller = new EpollPoller(() => {}, () => 1, q);
  const running = poller.run();
  const sender = udpSocket();
  const target = udpSocket();
  let echo = true;
  let ticksAtFire = -1;
  const deadline = new Deadline(() => ticksAtFire = poller.ticks, q);
  poller.add(target.fd, {
    onEvents: () => {
      drain(target.fd);
      // Armed from an event handler once ticking: the tick after it is due runs it.
      if (poller.ticks > 5 && !deadline.armed && ticksAtFire < 0) deadline.arm(1);
      if (echo) poke(sender.fd, target.addr);
    },
  });
  try {
    poke(sender.fd, target.addr);
    await until(() => ticksAtFire >= 0, "the deadline armed while ticking");
    assert.ok(ticksAtFire > 5, "fired at a tick");
    echo = false;
    const waits = poller.blockingWaits;
    await until(() => poller.blockingWaits > waits, "the return to the blocking wait");
    // Not ticking any more: a deadline fires by the queue's own timer.
    let fired = false;
    new Deadline(() => fired = true, q).arm(1);
    await until(() => fired, "a deadline after the ticks stopped");
  } finally {
    poller.remove(target.fd);
    poller.stop();
    await running;
    for (const fd of [target.fd, sender.fd]) c.close(fd);
  }
});
