/**
 * `runOnReady`: a path's command, run by main.ts while the path's stream is published (mediamtx's
 * runOnReady): started with `sh -c` once the stream is readable on every worker, with RTSP_PATH,
 * RTSP_URL and RTSP_PORT in its environment, started again after a backoff if it exits while the
 * stream lives (`runOnReadyRestart`), and stopped when the stream ends or the server stops: SIGTERM
 * to its process group (the shell and what it started), SIGKILL if it has not exited within a
 * bound. Its output goes to the log line by line. One child per path: a new stream of the path
 * starts its command once the last one's child has exited. This is how a path is transcoded
 * (ffmpeg reading it and publishing a variant) without dm-live decoding anything.
 */
import type { Logger } from "../log/logger.ts";
import type { RunOnReadyConfig } from "../paths/path_config.ts";
import { RestartBackoff } from "./restart_backoff.ts";

/** After SIGTERM, how long a child has to exit before SIGKILL. */
export const KILL_AFTER_MS = 2000;
/** A child's output line longer than this is logged in pieces (a runaway line must not grow a buffer). */
const MAX_LINE_CHARS = 4096;

/** What /metrics shows of the children. */
export interface ReadyCounters {
  /** Children running now. */
  running: number;
  /** Starts, the first of each stream included. */
  starts: number;
  /** Starts again after a child exited while its stream lived. */
  restarts: number;
}

interface Child {
  readonly path: string;
  readonly streamId: number;
  /** The command as the config said at the stream's start: a reload applies to the next stream. */
  readonly cfg: RunOnReadyConfig;
  readonly log: Logger;
  readonly backoff: RestartBackoff;
  proc: Deno.ChildProcess | null;
  /** Settles once the current process has exited and its output is read. */
  exited: Promise<void>;
  startedAt: number;
  stopping: boolean;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface ReadyOptions {
  /** The path's runOnReady under the config in force (undefined: none). */
  commandFor(path: string): RunOnReadyConfig | undefined;
  /** RTSP_PATH, RTSP_URL, RTSP_PORT for a path. */
  env(path: string): Record<string, string>;
  killAfterMs?: number;
}

/** The environment a path's command gets: where to read the path (loopback when listening on any address). */
export function readyEnv(address: string, port: number, path: string): Record<string, string> {
  const host = address === "0.0.0.0"
    ? "127.0.0.1"
    : address === "::"
    ? "[::1]"
    : address.includes(":")
    ? `[${address}]`
    : address;
  return { RTSP_PATH: path, RTSP_PORT: String(port), RTSP_URL: `rtsp://${host}:${port}/${path}` };
}

export class ReadyCommands {
  readonly #log: Logger;
  readonly #opts: ReadyOptions;
  readonly #killAfterMs: number;
  readonly #children = new Map<string, Child>();
  /** Children told to stop that have not exited yet, by path. */
  readonly #stopping = new Map<string, Promise<void>>();
  #closed = false;
  readonly #counts = { running: 0, starts: 0, restarts: 0 };

  constructor(log: Logger, opts: ReadyOptions) {
    this.#log = log;
    this.#opts = opts;
    this.#killAfterMs = opts.killAfterMs ?? KILL_AFTER_MS;
  }

  get counters(): ReadyCounters {
    return { ...this.#counts };
  }

  /** Stream `streamId` of `path` is ready: its command (if the path has one) starts. */
  ready(path: string, streamId: number): void {
    if (this.#closed) return;
    const cfg = this.#opts.commandFor(path);
    if (cfg === undefined) return;
    const old = this.#children.get(path);
    if (old !== undefined) this.#stop(old, `stream ${streamId} replaces stream ${old.streamId}`);
    const c: Child = {
      path,
      streamId,
      cfg,
      log: this.#log.child(`path ${path}`).child("runOnReady"),
      backoff: new RestartBackoff(),
      proc: null,
      exited: Promise.resolve(),
      startedAt: 0,
      stopping: false,
      restartTimer: undefined,
    };
    this.#children.set(path, c);
    const before = this.#stopping.get(path);
    if (before === undefined) this.#spawn(c);
    else before.then(() => this.#spawn(c));
  }

  /** Stream `streamId` of `path` ended: its child is stopped. */
  ended(path: string, streamId: number): void {
    const c = this.#children.get(path);
    if (c === undefined || c.streamId !== streamId) return;
    this.#children.delete(path);
    this.#stop(c, `stream ${streamId} ended`);
  }

  /** Server shutdown: every child stopped; settles once all have exited. */
  async stopAll(): Promise<void> {
    this.#closed = true;
    for (const c of [...this.#children.values()]) this.#stop(c, "the server is stopping");
    this.#children.clear();
    await Promise.all(this.#stopping.values());
  }

  #spawn(c: Child): void {
    if (c.stopping) return;
    let proc: Deno.ChildProcess;
    try {
      proc = new Deno.Command("sh", {
        args: ["-c", c.cfg.command],
        env: this.#opts.env(c.path),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        // Its own session and process group, so that stopping it reaches what the shell started.
        detached: true,
      }).spawn();
    } catch (e) {
      c.startedAt = performance.now();
      this.#exited(c, `could not start (${(e as Error)?.message ?? e})`);
      return;
    }
    c.proc = proc;
    c.startedAt = performance.now();
    this.#counts.starts++;
    this.#counts.running++;
    c.log.info(`started, pid ${proc.pid}`);
    const out = pipeLines(proc.stdout, c.log);
    const err = pipeLines(proc.stderr, c.log);
    c.exited = proc.status.then(async (st) => {
      this.#counts.running--;
      // What the shell left behind in its group (a background job) ends with it.
      signalGroup(proc.pid, "SIGTERM");
      await Promise.all([out, err]);
      c.proc = null;
      this.#exited(c, `exited (${st.signal !== null ? `killed by ${st.signal}` : `exit code ${st.code}`})`);
    });
  }

  /** The child is gone (`how`: "exited (exit code 1)", "could not start (...)"): restarted if its stream lives. */
  #exited(c: Child, how: string): void {
    if (c.stopping) {
      c.log.info(`stopped: ${how}`);
      return;
    }
    if (!c.cfg.restart) {
      c.log.warn(`${how} while the stream lives; runOnReadyRestart is false: not started again`);
      return;
    }
    const wait = c.backoff.next(performance.now() - c.startedAt);
    c.log.warn(`${how} while the stream lives; starting it again in ${wait / 1000} s`);
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (c.stopping) return;
      this.#counts.restarts++;
      this.#spawn(c);
    }, wait);
  }

  /** SIGTERM to the child's group, SIGKILL after the bound; the next stream of its path waits for it. */
  #stop(c: Child, why: string): void {
    if (c.stopping) return;
    c.stopping = true;
    clearTimeout(c.restartTimer);
    const proc = c.proc;
    if (proc === null) return;
    c.log.info(`stopping pid ${proc.pid}: ${why}`);
    signalGroup(proc.pid, "SIGTERM");
    const kill = setTimeout(() => {
      c.log.warn(`pid ${proc.pid} did not exit within ${this.#killAfterMs} ms of SIGTERM: SIGKILL`);
      signalGroup(proc.pid, "SIGKILL");
    }, this.#killAfterMs);
    const done = c.exited.then(() => clearTimeout(kill));
    this.#stopping.set(c.path, done);
    done.then(() => {
      if (this.#stopping.get(c.path) === done) this.#stopping.delete(c.path);
    });
  }
}

/** Signals a child's process group; a group already gone is no error. */
function signalGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    // Expected: nothing of the group is left (ESRCH).
  }
}

/** Logs a child's output line by line (CR or LF ends a line: ffmpeg's progress uses CR); the logger escapes it. */
async function pipeLines(stream: ReadableStream<Uint8Array>, log: Logger): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  const flush = (final: boolean) => {
    for (;;) {
      const i = buf.search(/[\r\n]/);
      if (i < 0) break;
      if (i > 0) log.info(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    while (buf.length > MAX_LINE_CHARS || (final && buf.length > 0)) {
      log.info(buf.slice(0, MAX_LINE_CHARS));
      buf = buf.slice(MAX_LINE_CHARS);
    }
  };
  try {
    for await (const chunk of stream) {
      buf += dec.decode(chunk, { stream: true });
      flush(false);
    }
  } catch {
    // Expected: the pipe broke as the child was killed; what was read is logged below.
  }
  buf += dec.decode();
  flush(true);
}
