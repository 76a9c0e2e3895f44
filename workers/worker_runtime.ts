/**
 * The worker's composition root: builds what one RTSP worker runs (its listeners: plain, RTSPS and
 * the tunnel's; its UDP ports, its replica of the stream directory, the context its connections
 * share) and answers main.ts. Near 400 lines: each message main.ts sends is answered here, next to
 * what it changes. HLS and recordings run in the media worker (media_runtime.ts), not here.
 */
import { type Config, tlsOn, workerShare } from "../src/config.ts";
import { Logger, type LogSink } from "../src/log/logger.ts";
import type { ByteSocket, SocketListener } from "../src/net/byte_socket.ts";
import { DenoListener } from "../src/net/deno_listener.ts";
import { EpollPoller } from "../src/net/epoll_poller.ts";
import { ReadPace } from "../src/session/read_pace.ts";
import { deadlines } from "../src/clock/deadlines.ts";
import { FfiListener } from "../src/net/ffi_listener.ts";
import { TunnelListener } from "../src/net/tunnel_listener.ts";
import { type ListenTuner, readPem, TlsListener } from "../src/net/tls_listener.ts";
import { listenNoDelay } from "../src/net/listener_nodelay.ts";
import { resolveBackend } from "../src/net/backend.ts";
import { RtspConnection } from "../src/session/rtsp_connection.ts";
import { PublisherSession } from "../src/session/publisher_session.ts";
import type { WorkerContext } from "../src/session/worker_context.ts";
import type { MainToWorker, WorkerToMain } from "../src/cluster/messages.ts";
import type { WorkerReport } from "../src/stats/reports.ts";
import { findConnection, sessionReports, workerReport } from "./worker_reports.ts";
import { WorkerDirectory } from "../src/cluster/worker_directory.ts";
import { SourceRunner } from "../src/session/source_runner.ts";
import { WorkerUdp } from "../src/session/udp_ports.ts";
import { newWorkerStats, type WorkerStats } from "../src/stats/worker_stats.ts";
import { ThreadBusy } from "../src/stats/thread_busy.ts";
import { MergeWindow } from "../src/stream/merge_window.ts";
import { PendingBodies } from "../src/session/pending_bodies.ts";
import type { AuthShared } from "../src/auth/auth_shared.ts";
import { addressGroup } from "../src/auth/ip_address.ts";
import type { HookEventBody } from "../src/hooks/hook_event.ts";

/** This worker's UDP port pair, or null (UDP off, or its ports taken: logged, TCP still serves). */
function openUdp(
  config: Config,
  worker: number,
  poller: EpollPoller | null,
  stats: WorkerStats,
  log: Logger,
) {
  if (config.udp.portBase === 0) return null;
  try {
    return new WorkerUdp(config, worker, poller, stats, log);
  } catch (e) {
    const base = config.udp.portBase + 2 * worker;
    log.error(`UDP off on this worker: ports ${base}-${base + 1} not available (${(e as Error).message})`);
    return null;
  }
}

/**
 * This worker's RTSPS listener, or null (RTSPS off). Throws, and the worker does not start, when
 * its port is taken or its files cannot be read or are refused: a server asked for RTSPS does not
 * run without it.
 */
function openTls(config: Config, log: Logger, ffi: boolean): TlsListener | null {
  if (!tlsOn(config)) return null;
  const { cert, key, port } = config.rtsp.tls;
  // With FFI, accepted TLS sockets get TCP_NODELAY through their listener (listener_nodelay.ts).
  const tune: ListenTuner | undefined = ffi
    ? (listen) => {
      const { listener, set } = listenNoDelay(listen);
      if (set === 0) log.warn(`RTSPS: its listening socket was not found: TLS connections keep Nagle on`);
      return listener;
    }
    : undefined;
  try {
    return new TlsListener(config.rtsp.address, port, readPem(cert, key), log, tune);
  } catch (e) {
    throw new Error(`RTSPS on port ${port}: ${(e as Error).message}`);
  }
}

/** The tick whose lateness measures event-loop lag. */
const LAG_TICK_MS = 100;
/** How often idle connections are looked for. */
const SWEEP_INTERVAL_MS = 1000;

/** Everything one RTSP worker runs: its listener, its connections, its view of the directory. */
export class WorkerRuntime {
  readonly ctx: WorkerContext;
  /** Open connections; a connection leaves the set when it closes. */
  readonly connections = new Set<RtspConnection>();
  readonly #directory: WorkerDirectory;
  #tunnel: TunnelListener | null = null;
  /** The RTSPS listener (rtsp.tls), or null. */
  readonly #tls: TlsListener | null = null;
  /** The sources main.ts gave this worker to pull, by path. */
  readonly sources = new Map<string, SourceRunner>();
  readonly #post: (msg: WorkerToMain) => void;
  readonly #listener: SocketListener;
  readonly #poller: EpollPoller | null = null;
  readonly #sweep: ReturnType<typeof setInterval>;
  /** This worker's merge window, set once a second from its busy fraction. */
  readonly mergeWindow: MergeWindow;
  readonly #busy = new ThreadBusy();
  #polling: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    worker: number,
    config: Config,
    post: (msg: WorkerToMain) => void,
    authShared: AuthShared,
    sink?: LogSink,
  ) {
    const log = new Logger(config.log.level, `w${worker}`, sink, config.log.format === "json");
    // ctx.config, once set, is what a reload replaces.
    const viewer = () => (this.ctx?.config ?? config).viewer;
    this.mergeWindow = new MergeWindow(() => ({
      maxMs: viewer().mergeWindowMs,
      busyPercent: viewer().mergeBusyPercent,
    }));
    const directory = this.#directory = new WorkerDirectory(
      post,
      this.mergeWindow,
      log,
      () => this.ctx.udp?.flush(),
    );
    const stats = newWorkerStats();
    const ffi = resolveBackend(config.net.backend) === "ffi";
    if (ffi) {
      const net = () => (this.ctx?.config ?? config).net;
      const pace = new ReadPace({
        worker,
        streams: () => directory.streams(),
        udpIngest: () => this.ctx?.udp?.ingestRoutes ?? 0,
        requests: () => stats.requests,
        readTickMs: () => net().readTickMs,
        unwatchedReadTickMs: () => net().unwatchedReadTickMs,
        mergeWindowMs: () => this.mergeWindow.ms,
      });
      this.#poller = new EpollPoller(
        (e) => log.error(`socket event handler failed: ${(e as Error)?.stack ?? e}`),
        () => pace.tickMs(),
        deadlines,
      );
    }
    const udp = openUdp(config, worker, this.#poller, stats, log);
    // Events are posted only while hooks are on: with hooks.url empty they cost nothing.
    const hook = (event: HookEventBody) => {
      if (this.ctx.config.hooks.url !== "") post({ type: "hook", timeMs: Date.now(), event });
    };
    this.ctx = {
      worker,
      config,
      log,
      directory,
      stats,
      udp,
      poller: this.#poller,
      authShared,
      pendingBodies: new PendingBodies(),
      hook,
    };
    this.#post = post;
    let listener: SocketListener | null = null;
    try {
      listener = this.#poller !== null
        ? new FfiListener(config.rtsp.address, config.rtsp.port, this.#poller, log)
        : new DenoListener(config.rtsp.address, config.rtsp.port, log);
      this.#tls = openTls(config, log, ffi);
    } catch (e) {
      // The worker fails to start; FFI fds outlive a Worker, so what is open is closed here.
      listener?.close();
      udp?.close();
      this.#poller?.stop();
      throw e;
    }
    this.#listener = listener;
    this.#sweep = setInterval(this.#closeIdle, SWEEP_INTERVAL_MS);
    this.#lagTimer = setInterval(this.#measureLag, LAG_TICK_MS);
  }

  readonly #lagTimer: ReturnType<typeof setInterval>;
  #lastTick = performance.now();

  readonly #measureLag = (): void => {
    const now = performance.now();
    const lag = now - this.#lastTick - LAG_TICK_MS;
    this.#lastTick = now;
    if (lag > this.ctx.stats.loopLagMaxMs) this.ctx.stats.loopLagMaxMs = lag;
  };

  /** Starts accepting and tells main.ts the worker is ready. */
  start(): void {
    if (this.#poller !== null) {
      this.#polling = this.#poller.run().catch((e) => this.ctx.log.error(`poller failed: ${e}`));
    }
    this.#listener.serve(this.#accept);
    if (this.#tls !== null) {
      this.#tls.serve(this.#accept);
      if (this.ctx.worker === 0) {
        this.ctx.log.info(`RTSPS on port ${this.#tls.port} (certificate ${this.ctx.config.rtsp.tls.cert})`);
      }
    }
    const tunnelPort = this.ctx.config.rtsp.tunnelPort;
    if (tunnelPort > 0 && this.ctx.worker === 0) {
      try {
        this.#tunnel = new TunnelListener(
          this.ctx.config.rtsp.address,
          tunnelPort,
          this.ctx.log,
          this.ctx.config.limits.handshakeTimeoutMs,
        );
        this.#tunnel.serve(this.#accept);
        this.ctx.log.info(`RTSP over HTTP tunnelling on port ${this.#tunnel.port}`);
      } catch (e) {
        this.ctx.log.error(
          `RTSP over HTTP tunnelling off: port ${tunnelPort} not available (${(e as Error).message})`,
        );
      }
    }
    this.#post({ type: "ready", worker: this.ctx.worker, port: this.#listener.port });
  }

  /** Handles a message from main.ts. */
  handle(msg: MainToWorker): void {
    switch (msg.type) {
      case "statsRequest":
        if (msg.collect) (globalThis as { gc?: () => void }).gc?.();
        this.#post({ type: "statsResult", id: msg.id, report: this.report() });
        this.ctx.stats.loopLagMaxMs = 0; // a maximum per report
        return;
      case "sessionsRequest":
        this.#post({
          type: "sessionsResult",
          id: msg.id,
          sessions: sessionReports(this.ctx.worker, this.connections),
        });
        return;
      case "kick": {
        const c = findConnection(this.ctx.worker, this.connections, msg.target);
        if (c !== undefined) {
          c.session?.log.info("kicked by API");
          c.close("kicked by API");
        }
        this.#post({ type: "kickResult", id: msg.id, found: c !== undefined });
        return;
      }
      case "sourceStart": {
        // The replaced pull's claim is released before the new one claims (no refusal by itself).
        const replaced = this.sources.get(msg.path)?.stop("restarted by main.ts");
        const r = new SourceRunner(this.ctx, msg.path, msg.source, msg.edge);
        this.sources.set(msg.path, r);
        r.start(replaced);
        return;
      }
      case "sourceStop":
        this.sources.get(msg.path)?.stop(msg.reason);
        this.sources.delete(msg.path);
        return;
      case "reload":
        // Sessions read ctx.config per request, so running ones keep going under the new values.
        this.ctx.config = msg.config;
        this.ctx.log.setLevel(msg.config.log.level);
        this.#reloadTls(msg.config);
        return;
      case "crash":
        this.ctx.log.warn("crashing on request of the API (api.debug)");
        // A genuine uncaught exception, outside any handler that would catch it.
        setTimeout(() => {
          throw new Error("crash requested through the API (api.debug)");
        }, 0);
        return;
      case "shutdown": {
        const { connections, sessions } = this.stop("server shutting down");
        this.#post({ type: "closed", worker: this.ctx.worker, connections, sessions });
        return;
      }
      default:
        this.#directory.handle(msg);
    }
  }

  /** Counters and current load of this worker. */
  report(): WorkerReport {
    // The poller counts its own rounds (it is made before the stats' users): copied for the report.
    if (this.#poller !== null) {
      this.ctx.stats.pollBlockingWaits = this.#poller.blockingWaits;
      this.ctx.stats.pollTicks = this.#poller.ticks;
      this.ctx.stats.pollTickMs = this.#poller.tickingMs;
    }
    return workerReport(
      this.ctx,
      this.connections,
      [...this.sources.values()].map((r) => r.status()),
      this.mergeWindow,
    );
  }

  /**
   * Stops accepting and closes every connection, the UDP ports and the poller: the FFI backend's
   * fds are the worker's to close, also when it crashed. Each step runs even if one before failed.
   * Returns how many connections it closed and how many of them had a session.
   */
  stop(reason: string): { connections: number; sessions: number } {
    if (this.#stopped) return { connections: 0, sessions: 0 };
    this.#stopped = true;
    clearInterval(this.#sweep);
    clearInterval(this.#lagTimer);
    this.#try("close the listener", () => this.#listener.close());
    this.#try("close the tunnel listener", () => this.#tunnel?.close());
    this.#try("close the RTSPS listener", () => this.#tls?.close());
    for (const [path, r] of this.sources) this.#try(`stop source ${path}`, () => r.stop(reason));
    this.sources.clear();
    let connections = 0;
    let sessions = 0;
    for (const c of [...this.connections]) {
      connections++;
      if (c.session !== null) sessions++;
      this.#try(`close ${c.peer}`, () => c.close(reason));
    }
    this.#try("close the UDP ports", () => this.ctx.udp?.close());
    this.#try("stop the poller", () => this.#poller?.stop());
    for (const s of this.#directory.streams()) this.#try(`end stream ${s.path}`, () => s.end());
    return { connections, sessions };
  }

  /** Settles once the poller's loop has ended after stop() (and closed the epoll fd). */
  get finished(): Promise<void> {
    return this.#polling;
  }

  /**
   * A reload reads RTSPS's files again: a changed certificate serves new connections (running ones
   * keep theirs); one that cannot be read or is refused is logged, and the running one kept.
   */
  #reloadTls(config: Config): void {
    const tls = this.#tls;
    if (tls === null || !tlsOn(config)) return;
    const { cert, key } = config.rtsp.tls;
    const log = this.ctx.log;
    const kept = (e: unknown) =>
      log.error(`RTSPS: keeping the running certificate, ${cert} and ${key}: ${(e as Error).message}`);
    let replaced: Promise<boolean>;
    try {
      replaced = tls.replace(readPem(cert, key));
    } catch (e) {
      return kept(e);
    }
    replaced.then((changed) => {
      // Every worker does it; one says so.
      const line = changed
        ? `RTSPS: new connections get the certificate of ${cert}`
        : "RTSPS: certificate unchanged";
      if (changed && this.ctx.worker === 0) log.info(line);
      else log.debug(line);
    }, kept);
  }

  #try(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.ctx.log.error(`stopping: could not ${what}: ${(e as Error)?.stack ?? e}`);
    }
  }

  readonly #accept = (sock: ByteSocket): void => {
    const stats = this.ctx.stats;
    const max = this.ctx.config.limits.maxConnectionsPerWorker;
    if (max > 0 && this.connections.size >= max) {
      stats.connectionsRefused++;
      this.#fullRefused++;
      const now = performance.now();
      // One line per 10 s: a flood must not flood the log too.
      if (now - this.#fullLoggedAt > 10_000) {
        this.ctx.log.warn(
          `refused ${sock.peer}: ${max} connections open on this worker (limits.maxConnectionsPerWorker); ${this.#fullRefused} refused since the last such line`,
        );
        this.#fullLoggedAt = now;
        this.#fullRefused = 0;
      }
      sock.close();
      return;
    }
    const host = addressGroup(hostOf(sock.peer));
    const perAddress = this.ctx.config.limits.maxConnectionsPerAddress;
    const share = workerShare(this.ctx.config, perAddress);
    const open = this.#perAddress.get(host) ?? 0;
    if (perAddress > 0 && open >= share) {
      stats.connectionsRefused++;
      const now = performance.now();
      // One line per address and 10 s: a flood must not flood the log too.
      if (now - (this.#refusedLogged.get(host) ?? -Infinity) > 10_000) {
        this.#refusedLogged.set(host, now);
        this.ctx.log.warn(
          `refused ${sock.peer}: ${open} connections from ${host} open on this worker (limits.maxConnectionsPerAddress ${perAddress})`,
        );
      }
      sock.close();
      return;
    }
    this.#perAddress.set(host, open + 1);
    const c = new RtspConnection(this.ctx, sock, this.#closed);
    this.connections.add(c);
    stats.connectionsOpen++;
    c.serial = ++stats.connectionsTotal;
    c.run();
  };

  /** A connection closed: it leaves the worker's set. */
  readonly #closed = (c: RtspConnection): void => {
    this.connections.delete(c);
    const host = addressGroup(c.peerHost);
    const n = (this.#perAddress.get(host) ?? 1) - 1;
    if (n <= 0) this.#perAddress.delete(host);
    else this.#perAddress.set(host, n);
  };

  /** When the last limits.maxConnectionsPerWorker refusal was logged, and refusals since. */
  #fullLoggedAt = -Infinity;
  #fullRefused = 0;

  /** Open connections per peer address (IPv6: per /64) on this worker (limits.maxConnectionsPerAddress). */
  readonly #perAddress = new Map<string, number>();
  readonly #refusedLogged = new Map<string, number>();

  readonly #closeIdle = (): void => {
    this.mergeWindow.update(this.#busy.sample());
    const now = performance.now();
    const deadline = now - this.ctx.config.sessionTimeoutMs;
    const l = this.ctx.config.limits;
    for (const [host, at] of this.#refusedLogged) if (now - at > 10_000) this.#refusedLogged.delete(host);
    for (const c of this.connections) {
      if (c.lastSeen < deadline) {
        c.close(`timed out: nothing received for ${this.ctx.config.sessionTimeoutMs} ms`);
      } else if (c.pendingSince > 0 && now - c.pendingSince > l.requestTimeoutMs) {
        c.timedOut(`request not complete within ${l.requestTimeoutMs} ms`);
      } else if (!c.handshaked && now - c.openedAt > l.handshakeTimeoutMs) {
        c.timedOut(`no request within ${l.handshakeTimeoutMs} ms of connecting`);
      } else if (l.maxPublishKbps > 0 && c.session instanceof PublisherSession) {
        const kbps = c.session.sustainedKbps(now);
        if (kbps > l.maxPublishKbps) {
          this.ctx.stats.publishersOverBitrate++;
          c.close(`publishing ${Math.round(kbps)} kbit/s, over limits.maxPublishKbps (${l.maxPublishKbps})`);
        }
      }
    }
  };
}

/** The address of a `host:port` peer (IPv6 without brackets), as RtspConnection.peerHost gives it. */
function hostOf(peer: string): string {
  const i = peer.lastIndexOf(":");
  const h = i < 0 ? peer : peer.slice(0, i);
  return h.startsWith("[") ? h.slice(1, -1) : h;
}
