// Private to src/testing: the SharedArrayBuffer a fuzz loop shares with its watchdog worker.
// Int32 header words, then the bytes of the input being checked.

/** Header word indexes and size. */
export const WATCH = {
  /** Index of the input being checked; bumped before each check. */
  SEQ: 0,
  /** 1 once the loop has ended. */
  DONE: 1,
  /** Bytes of the current input in the data area. */
  LENGTH: 2,
  /** 1 once the watchdog has saved a stuck input. */
  HUNG: 3,
  HEADER_WORDS: 4,
} as const;
