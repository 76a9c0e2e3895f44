/**
 * ffmpeg and ffprobe for the media tests (test-only). They are always installed in CI: a missing one
 * fails the test saying what to install, it never skips.
 */

/** Runs ffmpeg or ffprobe to its end; throws with the tool's stderr when it fails. */
export async function runTool(
  bin: "ffmpeg" | "ffprobe",
  args: string[],
): Promise<{ stdout: Uint8Array; stderr: string }> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${bin} is needed by this test and is not installed (apt-get install ffmpeg)`);
    }
    throw e;
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${bin} ${args.join(" ")} failed (${out.code}): ${stderr.slice(-2000)}`);
  return { stdout: out.stdout, stderr };
}
