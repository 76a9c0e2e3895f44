import assert from "node:assert/strict";
import {
  fmtpFor,
  mediaAttribute,
  mediaAttributes,
  mediaControl,
  type MediaDescription,
  parseFmtpParameters,
  parseMediaLine,
  removeMediaAttribute,
  rtpmapFor,
  serializeMediaLine,
  setMediaAttribute,
} from "./media_description.ts";
import { SdpError } from "./sdp_error.ts";
import { assertRoundTrip, fuzzSteps, parseOrRefuse, REFUSED } from "../testing/fuzz.ts";
import { goldenSeeds } from "../testing/golden.ts";

function media(lines: string[]): MediaDescription {
  return {
    media: "video",
    port: 0,
    protocol: "RTP/AVP",
    formats: ["96", "97"],
    lines: lines.map((l) => ({ type: l[0] as string, value: l.slice(2) })),
  };
}

const mediaLineCases = [
  {
    name: "video",
    input: "video 0 RTP/AVP 96",
    parsed: { media: "video", port: 0, protocol: "RTP/AVP", formats: ["96"] },
  },
  {
    name: "audio with two formats",
    input: "audio 49170 RTP/AVP 0 97",
    parsed: { media: "audio", port: 49170, protocol: "RTP/AVP", formats: ["0", "97"] },
  },
  {
    name: "port count",
    input: "video 5000/2 RTP/AVP 96",
    parsed: { media: "video", port: 5000, portCount: 2, protocol: "RTP/AVP", formats: ["96"] },
  },
  {
    name: "application without formats",
    input: "application 0 TCP/RTP/AVP",
    parsed: { media: "application", port: 0, protocol: "TCP/RTP/AVP", formats: [] },
  },
] as const;

Deno.test("parseMediaLine() and serializeMediaLine() agree on the golden cases", async (t) => {
  for (const c of mediaLineCases) {
    await t.step(c.name, () => {
      assert.deepEqual(parseMediaLine(c.input), { ...c.parsed, formats: [...c.parsed.formats], lines: [] });
      assert.equal(serializeMediaLine(parseMediaLine(c.input)), c.input);
    });
  }
  assert.throws(() => parseMediaLine(""), SdpError);
  assert.throws(() => parseMediaLine("video -1 RTP/AVP 96"), SdpError);
});

Deno.test("mediaAttribute() returns values, flags as empty string, case-insensitively", () => {
  const m = media(["a=recvonly", "a=control:trackID=0", "a=RTPMAP:96 H264/90000", "a=rtpmap:97 PCMA/8000"]);
  assert.equal(mediaAttribute(m, "recvonly"), "");
  assert.equal(mediaAttribute(m, "control"), "trackID=0");
  assert.equal(mediaAttribute(m, "rtpmap"), "96 H264/90000");
  assert.deepEqual(mediaAttributes(m, "rtpmap"), ["96 H264/90000", "97 PCMA/8000"]);
  assert.equal(mediaAttribute(m, "sendonly"), undefined);
  assert.equal(mediaAttribute(m, "control:trackID"), undefined);
  assert.equal(mediaControl(m), "trackID=0");
});

Deno.test("setMediaAttribute() replaces the first or appends, removeMediaAttribute() removes all", () => {
  const m = media(["b=AS:100", "a=control:streamid=0", "a=x:1", "a=control:other"]);
  setMediaAttribute(m, "control", "trackID=0");
  assert.deepEqual(m.lines.map((l) => `${l.type}=${l.value}`), [
    "b=AS:100",
    "a=control:trackID=0",
    "a=x:1",
    "a=control:other",
  ]);
  setMediaAttribute(m, "sendonly", "");
  assert.deepEqual(m.lines.at(-1), { type: "a", value: "sendonly" });
  removeMediaAttribute(m, "control");
  assert.deepEqual(m.lines.map((l) => `${l.type}=${l.value}`), ["b=AS:100", "a=x:1", "a=sendonly"]);
});

Deno.test("rtpmapFor() finds the payload type's mapping", () => {
  const m = media(["a=rtpmap:96 H264/90000", "a=rtpmap:97 mpeg4-generic/48000/2", "a=rtpmap:98 bad"]);
  assert.deepEqual(rtpmapFor(m, 96), { encoding: "H264", clockRate: 90000 });
  assert.deepEqual(rtpmapFor(m, "97"), { encoding: "mpeg4-generic", clockRate: 48000, channels: 2 });
  assert.equal(rtpmapFor(m, 98), undefined);
  assert.equal(rtpmapFor(m, 0), undefined);
});

Deno.test("fmtpFor() returns the parameter string as written", () => {
  const m = media(["a=fmtp:96 packetization-mode=1;profile-level-id=42e01f", "a=fmtp:97", "a=fmtp:9 x"]);
  assert.equal(fmtpFor(m, 96), "packetization-mode=1;profile-level-id=42e01f");
  assert.equal(fmtpFor(m, 97), "");
  assert.equal(fmtpFor(m, 98), undefined);
});

Deno.test("parseFmtpParameters() lower-cases keys, trims values and keeps base64 padding", () => {
  const params = parseFmtpParameters(
    "packetization-mode=1; sprop-parameter-sets=Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA;  Profile-Level-Id = 64001F ;;flag",
  );
  assert.deepEqual([...params], [
    ["packetization-mode", "1"],
    ["sprop-parameter-sets", "Z2QAH6zZQFAFuhAAAAMAEAAAAwPI8YMZYA==,aOvjyyLA"],
    ["profile-level-id", "64001F"],
    ["flag", ""],
  ]);
  assert.equal(
    parseFmtpParameters(
      "profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=1210",
    )
      .get("config"),
    "1210",
  );
});

Deno.test("parseMediaLine() fuzz: corpus and mutated m= values refuse with SdpError or round-trip", async (t) => {
  await fuzzSteps(t, {
    corpus: "media_line",
    label: "parseMediaLine()",
    seeds: goldenSeeds(mediaLineCases, (c) => [c.input]),
    check: (input) => {
      const text = new TextDecoder().decode(input);
      const m = parseOrRefuse(() => parseMediaLine(text), (e) => e instanceof SdpError);
      if (m !== REFUSED) assertRoundTrip(m, serializeMediaLine, parseMediaLine);
    },
    count: 3000,
    seed: 5014,
    kind: "text",
    dictionary: ["RTP/AVP", "/2", " 96", "\t"],
  });
});
