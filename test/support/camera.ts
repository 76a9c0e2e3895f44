/** A camera for source tests: GStreamer's RTSP server (test/support/gst_rtsp_camera.py) on a free port. */
import { Proc } from "./proc.ts";

const SCRIPT = new URL("./gst_rtsp_camera.py", import.meta.url).pathname;

/** Debian packages the camera needs; a CI run without them fails saying so. */
export const CAMERA_PACKAGES =
  "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-plugins-good";

export class Camera {
  readonly proc: Proc;
  readonly port: number;

  private constructor(proc: Proc, port: number) {
    this.proc = proc;
    this.port = port;
  }

  /** Starts the camera (Basic or Digest credentials when given); fails with the packages it needs. */
  static start(auth?: { user: string; pass: string; method: "basic" | "digest" }): Promise<Camera> {
    return Camera.startOn(0, auth);
  }

  /** Starts the camera on a given port (0: a free one). */
  static async startOn(
    port: number,
    auth?: { user: string; pass: string; method: "basic" | "digest" },
  ): Promise<Camera> {
    const args = [SCRIPT, String(port), ...(auth ? [auth.user, auth.pass, auth.method] : [])];
    const proc = new Proc("/usr/bin/python3", args);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const m = /ready (\d+)/.exec(proc.stdout);
      if (m) return new Camera(proc, Number(m[1]));
      const exited = await Promise.race([
        proc.done.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 50)),
      ]);
      if (exited || Date.now() > deadline) {
        proc.kill();
        await proc.wait(2000);
        throw new Error(
          `the GStreamer RTSP camera did not start (apt-get install ${CAMERA_PACKAGES}):\n${
            proc.stderr.slice(-2000)
          }`,
        );
      }
    }
  }

  /** RTSP connections the camera accepted so far. */
  get connections(): number {
    return this.proc.stdout.match(/client-connected/g)?.length ?? 0;
  }

  url(credentials = ""): string {
    return `rtsp://${credentials}127.0.0.1:${this.port}/cam`;
  }

  async stop(): Promise<void> {
    this.proc.kill();
    await this.proc.wait(5000);
  }
}
