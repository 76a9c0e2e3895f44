/** The errors tests expect and may ignore: a socket that closed, a child process already gone. */

/** Deno's errors for an endpoint that was closed, here or by the peer; anything else is a failure. */
const CLOSED_KINDS: readonly (new (...args: never[]) => Error)[] = [
  Deno.errors.BadResource,
  Deno.errors.ConnectionReset,
  Deno.errors.BrokenPipe,
  Deno.errors.Interrupted,
  Deno.errors.UnexpectedEof,
  Deno.errors.NotConnected,
];

/** Whether `e` only means "the socket closed" (ours closed it, or the peer went away). */
export function isSocketClosed(e: unknown): boolean {
  return CLOSED_KINDS.some((k) => e instanceof k);
}

/** Rethrows `e` unless it only means the socket closed. */
export function ignoreSocketClosed(e: unknown): void {
  if (!isSocketClosed(e)) throw e;
}

/**
 * Whether `e` is what signalling a child process that has already exited throws: Deno's TypeError
 * once its status is in, NotFound (ESRCH) before.
 */
export function isChildGone(e: unknown): boolean {
  return (e instanceof TypeError && /already terminated/.test(e.message)) ||
    e instanceof Deno.errors.NotFound;
}
