/**
 * When the worker's current fan-out slice began (performance.now() time). Per-viewer checks that
 * only ask "have 5 s passed?" (Sender Reports due) read this instead of calling performance.now()
 * once per viewer and pass: that call is an op, and at 2,000 viewers it was a measurable part of the
 * server's CPU (README "Measured"). Behind by at most one slice.
 */
export const passClock = { now: 0 };
