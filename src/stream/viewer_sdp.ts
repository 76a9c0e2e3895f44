import { removeMediaAttribute, type SdpLine } from "../sdp/media_description.ts";
import { serializeSdp, type SessionDescription } from "../sdp/session_description.ts";
import { trackControl } from "./stream_info.ts";

// Session-level lines that describe the publisher's connection or control, not the stream.
const DROP_SESSION = new Set(["v", "o", "s", "c", "t"]);
const DROP_SESSION_ATTR = /^(control|range|tool|recvonly|sendonly|sendrecv|inactive)(:|$)/;

/**
 * The SDP served on DESCRIBE: the publisher's media sections with their formats, rtpmap and fmtp
 * (sprop-parameter-sets, AAC config) kept as received, our own origin and `a=control:trackID=N`.
 */
export function buildViewerSdp(announced: SessionDescription, streamId: number): string {
  const name = announced.sessionLines.find((l) => l.type === "s")?.value.trim() || "dm-live";
  const sessionLines: SdpLine[] = [
    { type: "v", value: "0" },
    { type: "o", value: `- ${streamId} 1 IN IP4 127.0.0.1` },
    { type: "s", value: name },
    { type: "c", value: "IN IP4 0.0.0.0" },
    { type: "t", value: "0 0" },
    { type: "a", value: "tool:dm-live" },
    { type: "a", value: "range:npt=now-" },
  ];
  for (const l of announced.sessionLines) {
    if (DROP_SESSION.has(l.type)) continue;
    if (l.type === "a" && DROP_SESSION_ATTR.test(l.value)) continue;
    sessionLines.push({ ...l });
  }
  const media = announced.media.map((m, i) => {
    const copy = { ...m, port: 0, formats: [...m.formats], lines: m.lines.filter((l) => l.type !== "c") };
    removeMediaAttribute(copy, "control");
    copy.lines.push({ type: "a", value: `control:${trackControl(i)}` });
    return copy;
  });
  return serializeSdp({ sessionLines, media });
}
