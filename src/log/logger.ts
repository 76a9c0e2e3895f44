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
    // One line per event (journald): a stack trace's newlines become a visible \n.
    if (!this.#json && msg.includes("\n")) msg = msg.replaceAll("\n", "\\n");
    const line = this.#json
      ? JSON.stringify({ time, level, who: this.#prefix, msg })
      : `${time} ${TAG[level]} ${this.#prefix === "" ? "" : this.#prefix + " "}${msg}`;
    this.#sink(level, line);
  }
}
