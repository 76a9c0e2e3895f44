/** The errors that only say a socket (or a listener, or a child's pipe) is closed or gone. */

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
