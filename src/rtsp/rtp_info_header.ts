import { RtspParseError } from "./errors.ts";

/** One stream's entry of RTP-Info (RFC 2326 §12.33): the first packet's seq and RTP time after PLAY. */
export interface RtpInfoEntry {
  url: string;
  seq?: number;
  rtptime?: number;
}

function bad(message: string): RtspParseError {
  return new RtspParseError(message);
}

/** Parses `url=...;seq=N;rtptime=N[,url=...]` (RFC 2326 §12.33); throws RtspParseError (400). */
export function parseRtpInfoHeader(value: string): RtpInfoEntry[] {
  // URLs may contain commas, so only a comma followed by `url=` starts a new entry.
  const texts = value.split(/,(?=\s*url\s*=)/i);
  const out: RtpInfoEntry[] = [];
  for (const text of texts) {
    if (text.trim() === "") continue;
    const entry: Partial<RtpInfoEntry> = {};
    for (const param of text.split(";")) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      let v = param.slice(eq + 1).trim();
      // Whitespace inside the quotes is no part of a URL, and unquoted output would lose it anyway.
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).trim();
      if (key === "url") entry.url = v;
      else if (key === "seq") {
        if (!/^\d{1,5}$/.test(v) || Number(v) > 0xffff) {
          throw bad(`Invalid RTP-Info seq ${JSON.stringify(v)}`);
        }
        entry.seq = Number(v);
      } else if (key === "rtptime") {
        if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) {
          throw bad(`Invalid RTP-Info rtptime ${JSON.stringify(v)}`);
        }
        entry.rtptime = Number(v);
      }
    }
    if (entry.url === undefined || entry.url === "") throw bad("RTP-Info entry without url");
    out.push(entry as RtpInfoEntry);
  }
  return out;
}

/** Writes entries as `url=<u>;seq=N;rtptime=N`, comma-separated (RFC 2326 §12.33). */
export function serializeRtpInfoHeader(entries: readonly RtpInfoEntry[]): string {
  return entries.map((e) => {
    // A URL that starts or ends with `"` is quoted, or reading it back would strip those quotes.
    let s = /^"|"$/.test(e.url) ? `url="${e.url}"` : `url=${e.url}`;
    if (e.seq !== undefined) s += `;seq=${e.seq}`;
    if (e.rtptime !== undefined) s += `;rtptime=${e.rtptime >>> 0}`;
    return s;
  }).join(",");
}
