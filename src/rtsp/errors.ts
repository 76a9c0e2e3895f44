import { STATUS_CODE, type StatusCode } from "./status.ts";

/** A failure that maps to one RTSP response status (RFC 2326 §7.1.1); `message` is the detail for the log. */
export class RtspError extends Error {
  /** Status the request handler answers with. */
  readonly status: StatusCode;
  /** Headers the error response carries, e.g. the WWW-Authenticate challenges of a 401. */
  readonly headers?: [string, string][];
  /** An expected refusal (the 401 that asks for credentials) logs at debug, not warn. */
  readonly routine: boolean;

  constructor(status: StatusCode, message: string, headers?: [string, string][], routine = false) {
    super(message);
    this.name = "RtspError";
    this.status = status;
    this.headers = headers;
    this.routine = routine;
  }
}

/**
 * Text of a message, start line or header value that cannot be parsed (RFC 2326 §7.1.1: 400 Bad
 * Request; a malformed Range is 457 Invalid Range, §12.29). Every RTSP text parser's "cannot
 * parse"; a limit or an unsupported version has its own subclass below.
 */
export class RtspParseError extends RtspError {
  constructor(
    message: string,
    status: typeof STATUS_CODE.BadRequest | typeof STATUS_CODE.InvalidRange = 400,
  ) {
    super(status, message);
    this.name = "RtspParseError";
  }
}

/** Header block grew past the configured bound without a blank line (RFC 2326 §4, 400). */
export class HeaderBlockTooLargeError extends RtspError {
  constructor(limitBytes: number) {
    super(STATUS_CODE.BadRequest, `header block exceeds ${limitBytes} bytes`);
    this.name = "HeaderBlockTooLargeError";
  }
}

/** Content-Length above the configured bound (RFC 2326 §12.14, 413). */
export class BodyTooLargeError extends RtspError {
  constructor(contentLength: number, limitBytes: number) {
    super(STATUS_CODE.RequestEntityTooLarge, `Content-Length ${contentLength} exceeds ${limitBytes} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** Request or status line carries a version other than RTSP/1.0 (RFC 2326 §3.1, 505). */
export class VersionNotSupportedError extends RtspError {
  constructor(version: string) {
    super(STATUS_CODE.RtspVersionNotSupported, `Version ${JSON.stringify(version)} is not supported`);
    this.name = "VersionNotSupportedError";
  }
}
