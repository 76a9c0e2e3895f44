/** Leveled logger; every line says who it is about through a chain of prefixes. */

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };
const TAG: Readonly<Record<LogLevel, string>> = { debug: "DBG", info: "INF", warn: "WRN", error: "ERR" };

/** Where lines go; tests capture them. */
export type LogSink = (level: LogLevel, line: string) => void;

/** Writes to stderr for warn/error and stdout otherwise, as journald expects. */
export const consoleSink: LogSink = (level, line) => {
  // deno-lint-ignore no-console
  if (RANK[level] >= RANK.warn) console.error(line);
  // deno-lint-ignore no-console
  else console.log(line);
};

/**
 * A logger bound to a prefix such as `[w1] [conn 127.0.0.1:5000]`. A logger and the children made
 * from it share one level, so setLevel() (a config reload) reaches loggers kept anywhere.
 */
export class Logger {
  #level: { rank: number };
  readonly #prefix: string;
  readonly #sink: LogSink;
  readonly #json: boolean;

  constructor(level: LogLevel = "info", prefix = "", sink: LogSink = consoleSink, json = false) {
    this.#level = { rank: RANK[level] };
    this.#prefix = prefix;
    this.#sink = sink;
    this.#json = json;
  }

  /** A logger whose lines carry `[label]` after this one's prefix; it shares this one's level. */
  child(label: string): Logger {
    const prefix = this.#prefix === "" ? `[${label}]` : `${this.#prefix} [${label}]`;
    const c = new Logger("info", prefix, this.#sink, this.#json);
    c.#level = this.#level;
    return c;
  }

  /** Changes the level of this logger, the one it was made from and all their children. */
  setLevel(level: LogLevel): void {
    this.#level.rank = RANK[level];
  }

  /** Whether lines of this level are written; lets callers skip building a message. */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#level.rank;
  }

  debug(msg: string): void {
    this.#write("debug", msg);
  }
  info(msg: string): void {
    this.#write("info", msg);
  }
  warn(msg: string): void {
    this.#write("warn", msg);
  }
  error(msg: string): void {
    this.#write("error", msg);
  }

  #write(level: LogLevel, msg: string): void {
    if (RANK[level] < this.#level.rank) return;
    const time = new Date().toISOString();
    const line = this.#json
      ? JSON.stringify({ time, level, who: this.#prefix, msg })
      : `${time} ${TAG[level]} ${this.#prefix === "" ? "" : escapeText(this.#prefix) + " "}${
        escapeText(msg)
      }`;
    this.#sink(level, line);
  }
}

/** Characters a text log line must not carry raw: controls (C0, DEL, C1) and the Unicode line breaks. */
// deno-lint-ignore no-control-regex -- control characters are what this matches
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * A text log line's piece with every unsafe character written out (`\n`, `\x1b`, `\u2028`): one
 * line per event for journald, and nothing a peer sends (a path, a header) can forge a line,
 * move the cursor or colour a terminal.
 */
export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ??
      (code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16)}`);
  });
}
