/**
 * Why a store cannot answer a request, each with the HTTP status hls_http.ts answers it with
 * (draft-pantos-hls-rfc8216bis §6.2.5.2).
 *
 * @module
 */

/** A request the store refuses; `status` is the HTTP answer. */
export class HlsRequestError extends Error {
  override name = "HlsRequestError";
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** `_HLS_msn` more than two past the last segment, or `_HLS_part` past the Advance Part Limit: 400. */
export class HlsTooFarAheadError extends HlsRequestError {
  override name = "HlsTooFarAheadError";

  constructor(message: string) {
    super(400, message);
  }
}

/** A blocking request not satisfied within its time (three target durations): 503. */
export class HlsBlockTimeoutError extends HlsRequestError {
  override name = "HlsBlockTimeoutError";

  constructor(message: string) {
    super(503, message);
  }
}
