/** Child processes for tests: run, collect output, stop; and polling. */
import { isChildGone } from "./expected_errors.ts";

/** A child process whose output is collected; kill() ends it. */
export class Proc {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(bin: string, args: string[]) {
    this.name = bin;
    this.child = new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    const collect = async (s: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      const dec = new TextDecoder();
      for await (const chunk of s) this[into] += dec.decode(chunk, { stream: true });
    };
    const out = collect(this.child.stdout, "stdout");
    const err = collect(this.child.stderr, "stderr");
    this.done = Promise.all([out, err]).then(() => this.child.status);
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch (e) {
      // Expected: the process already exited.
      if (!isChildGone(e)) throw e;
    }
  }

  /** Waits for exit, killing the process after timeoutMs. */
  async wait(timeoutMs: number): Promise<Deno.CommandStatus> {
    const t = setTimeout(() => this.kill(), timeoutMs);
    try {
      return await this.done;
    } finally {
      clearTimeout(t);
    }
  }
}

/** Polls until cond() is true or timeoutMs passes. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
