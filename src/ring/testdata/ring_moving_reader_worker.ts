/// <reference lib="deno.worker" />
// A reader of a moving stream in another thread, as a viewer's worker has (ring_moving_reader.ts).
import { readMovingStream } from "./ring_moving_reader.ts";

self.onmessage = async (e: MessageEvent) => {
  const sabs = e.data.sabs as SharedArrayBuffer[];
  self.postMessage("ready");
  self.postMessage(await readMovingStream(sabs));
};
