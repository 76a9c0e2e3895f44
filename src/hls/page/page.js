// dm-live's page: "/" lists the streams (from /streams.json) and opens one when clicked;
// "/<path>/" plays <path>/index.m3u8 with hls.js (or natively where the browser plays HLS).
"use strict";

const $ = (id) => document.getElementById(id);
const path = decodeURIComponent(location.pathname.replace(/^\/+|\/+$/g, ""));

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function list() {
  $("list").hidden = false;
  const refresh = async () => {
    let streams = [];
    try {
      const r = await fetch("/streams.json", { cache: "no-store" });
      streams = r.ok ? (await r.json()).streams : [];
    } catch {
      streams = [];
    }
    const body = $("streams");
    body.replaceChildren();
    for (const s of streams) {
      const tr = document.createElement("tr");
      tr.className = "stream";
      tr.append(
        cell(s.path),
        cell(s.codecs.join(", ")),
        cell(s.width ? `${s.width}×${s.height}` : ""),
        cell(String(s.viewers)),
      );
      tr.onclick = () => location.assign(`/${s.path.split("/").map(encodeURIComponent).join("/")}/`);
      body.append(tr);
    }
    $("none").hidden = streams.length > 0;
  };
  await refresh();
  setInterval(refresh, 5000);
}

function play() {
  $("player").hidden = false;
  $("title").textContent = path;
  document.title = `${path} · dm-live`;
  const video = $("video");
  const src = `${location.pathname.replace(/\/?$/, "/")}index.m3u8${location.search}`;
  const status = (t) => $("status").textContent = t;
  globalThis.dmLive = { errors: [], video };
  if (globalThis.Hls && Hls.isSupported()) {
    // Playing up to 1.5x catches up with the live edge after a stall, as low latency wants.
    const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30, maxLiveSyncPlaybackRate: 1.5 });
    globalThis.dmLive.hls = hls;
    hls.on(Hls.Events.ERROR, (_e, d) => {
      globalThis.dmLive.errors.push(`${d.type}: ${d.details}${d.fatal ? " (fatal)" : ""}`);
      if (!d.fatal) return;
      status(`error: ${d.details}; retrying`);
      if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else setTimeout(() => hls.loadSource(src), 2000);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => status("playing"));
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
  } else {
    status("this browser cannot play HLS");
  }
  video.addEventListener("playing", () => status("playing"));
  video.play().catch(() => status("click to play"));
}

if (path === "") list();
else play();
