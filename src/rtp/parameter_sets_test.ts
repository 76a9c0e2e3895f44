import assert from "node:assert/strict";
import { h264PacketFlags } from "./h264.ts";
import { h265PacketFlags } from "./h265.ts";
import { h264ParameterSetPayload, h265ParameterSetPayload } from "./parameter_sets.ts";
import { VIDEO_CODEC, VIDEO_FLAG, videoPacketFlags } from "./video_packet.ts";

Deno.test("h264ParameterSetPayload() builds a STAP-A of SPS and PPS that ingest reads as parameter sets", () => {
  const sps = new Uint8Array([0x67, 0x42, 0xc0, 0x1e]);
  const pps = new Uint8Array([0x68, 0xce, 0x3c, 0x80]);
  const p = h264ParameterSetPayload([sps, pps])!;
  assert.deepEqual([...p], [0x78, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
  assert.equal(
    videoPacketFlags(VIDEO_CODEC.H264, p, 0, p.length) & VIDEO_FLAG.PARAMETER_SETS,
    VIDEO_FLAG.PARAMETER_SETS,
  );
  assert.ok(h264PacketFlags(p, 0, p.length) !== 0);
  assert.equal(h264ParameterSetPayload([sps]), null, "no PPS");
  assert.equal(h264ParameterSetPayload([]), null);
});

Deno.test("h265ParameterSetPayload() builds an AP of VPS, SPS and PPS", () => {
  const vps = new Uint8Array([0x40, 0x01, 0x0c]);
  const sps = new Uint8Array([0x42, 0x01, 0x01]);
  const pps = new Uint8Array([0x44, 0x01, 0xc1]);
  const p = h265ParameterSetPayload([vps], [sps], [pps])!;
  assert.deepEqual([...p.subarray(0, 5)], [0x60, 0x01, 0, 3, 0x40]);
  assert.equal(
    videoPacketFlags(VIDEO_CODEC.H265, p, 0, p.length) & VIDEO_FLAG.PARAMETER_SETS,
    VIDEO_FLAG.PARAMETER_SETS,
  );
  assert.ok(h265PacketFlags(p, 0, p.length) !== 0);
  assert.equal(h265ParameterSetPayload([], [sps], [pps]), null);
});
