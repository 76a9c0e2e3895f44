/** RTSP status codes used by dm-live (RFC 2326 §7.1.1). */
export const STATUS_CODE = {
  OK: 200,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestTimeout: 408,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  ParameterNotUnderstood: 451,
  NotEnoughBandwidth: 453,
  SessionNotFound: 454,
  MethodNotValidInThisState: 455,
  HeaderFieldNotValidForResource: 456,
  InvalidRange: 457,
  AggregateOperationNotAllowed: 459,
  OnlyAggregateOperationAllowed: 460,
  UnsupportedTransport: 461,
  InternalServerError: 500,
  NotImplemented: 501,
  ServiceUnavailable: 503,
  RtspVersionNotSupported: 505,
  OptionNotSupported: 551,
} as const;

/** One of the status codes in STATUS_CODE (RFC 2326 §7.1.1). */
export type StatusCode = typeof STATUS_CODE[keyof typeof STATUS_CODE];

/** Reason phrases spelled exactly as in RFC 2326 §7.1.1 (some clients log them verbatim). */
export const STATUS_TEXT: Readonly<Record<StatusCode, string>> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Time-out",
  413: "Request Entity Too Large",
  415: "Unsupported Media Type",
  451: "Parameter Not Understood",
  453: "Not Enough Bandwidth",
  454: "Session Not Found",
  455: "Method Not Valid in This State",
  456: "Header Field Not Valid for Resource",
  457: "Invalid Range",
  459: "Aggregate operation not allowed",
  460: "Only aggregate operation allowed",
  461: "Unsupported transport",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "RTSP Version not supported",
  551: "Option not supported",
} as const;

/** Reason phrase for any code: RFC 2326 §7.1.1 text when known, else a class-based fallback (§7.1.1). */
export function statusText(status: number): string {
  const known = (STATUS_TEXT as Readonly<Record<number, string>>)[status];
  if (known !== undefined) return known;
  // Unknown codes are treated as x00 of their class by clients (RFC 2326 §7.1.1), so say which class.
  if (status >= 200 && status < 300) return "OK";
  if (status >= 300 && status < 400) return "Redirection";
  if (status >= 400 && status < 500) return "Client Error";
  if (status >= 500 && status < 600) return "Server Error";
  return "Unknown";
}
