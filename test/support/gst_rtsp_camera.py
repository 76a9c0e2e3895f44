"""A camera stand-in for the source tests: GStreamer's RTSP server (gst-rtsp-server) serving a live
H.264 + AAC test stream on /cam, optionally behind Basic or Digest credentials. Its SPS/PPS are in
the SDP only (sprop-parameter-sets), as many cameras send them. (With rtph264pay config-interval=-1,
ffmpeg reports non-monotonic DTS at every keyframe even when it plays this server directly.)

usage: gst_rtsp_camera.py PORT [USER PASS [basic|digest]]
Prints "ready PORT" once it listens, and "client-connected" for every RTSP connection it accepts.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)
port = sys.argv[1]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bframes=0 "
    "! rtph264pay name=pay0 pt=96 "
    "audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=44100,channels=1 ! avenc_aac "
    "! rtpmp4gpay name=pay1 pt=97 )"
)
factory.set_shared(True)
if len(sys.argv) >= 4:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    kind = sys.argv[4] if len(sys.argv) >= 5 else "basic"
    if kind == "digest":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(sys.argv[2], sys.argv[3], token)
    else:
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(sys.argv[2], sys.argv[3]), token)
    server.set_auth(auth)
    factory.add_role_from_structure(
        Gst.Structure.from_string("user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")[0]
    )
server.get_mount_points().add_factory("/cam", factory)
server.connect("client-connected", lambda s, c: print("client-connected", flush=True))
server.attach(None)
print("ready", server.get_bound_port(), flush=True)
GLib.MainLoop().run()
