/// <reference lib="deno.worker" />
// Private to src/testing: watches a fuzz loop from another thread. The loop runs synchronously on
// the test's thread, so only another thread can notice an input the parser never returns from:
// this one saves that input to the corpus, flags it, and (when asked) ends the process.
import { saveToCorpus } from "./corpus.ts";
import { WATCH } from "./_watch_layout.ts";

interface Init {
  sab: SharedArrayBuffer;
  dir: string;
  label: string;
  hangMs: number;
  kill: boolean;
}

self.onmessage = (e: MessageEvent<Init>) => {
  const { sab, dir, label, hangMs, kill } = e.data;
  const words = new Int32Array(sab, 0, WATCH.HEADER_WORDS);
  const data = new Uint8Array(sab, WATCH.HEADER_WORDS * 4);
  self.postMessage("ready");
  const step = Math.max(5, Math.floor(hangMs / 4));
  let seen = Atomics.load(words, WATCH.SEQ);
  let since = performance.now();
  let saved: URL | undefined;
  while (Atomics.load(words, WATCH.DONE) === 0) {
    Atomics.wait(words, WATCH.DONE, 0, step);
    const seq = Atomics.load(words, WATCH.SEQ);
    const now = performance.now();
    if (seq !== seen) {
      seen = seq;
      since = now;
      continue;
    }
    if (saved === undefined && now - since >= hangMs) {
      const length = Atomics.load(words, WATCH.LENGTH);
      saved = saveToCorpus(new URL(dir), data.slice(0, length), "hang");
      Atomics.store(words, WATCH.HUNG, 1);
      console.error(`${label}: input ${seq} made no progress for ${hangMs} ms; saved as ${saved.pathname}`);
    }
    if (saved !== undefined && kill && now - since >= 3 * hangMs) {
      console.error(`${label}: still stuck after ${3 * hangMs} ms; ending the test process`);
      Deno.kill(Deno.pid, "SIGTERM");
      return;
    }
  }
  self.postMessage("done");
};
