/** SDP text that cannot be parsed (RFC 4566 §5); a SyntaxError so callers can tell it from I/O failures. */
export class SdpError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "SdpError";
  }
}
