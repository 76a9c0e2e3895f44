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
    // hls.js aims at PART-HOLD-BACK behind the live edge; a stall raises that by one part, not
    // by its default second. Its own catch-up (maxLiveSyncPlaybackRate) speeds up only with more
    // than a second buffered, which a 0.6 s target never has: keepUp() catches up instead.
    const hls = new Hls({
      lowLatencyMode: true,
      backBufferLength: 30,
      liveSyncOnStallIncrease: 0.2,
      maxLiveSyncPlaybackRate: 1,
    });
    globalThis.dmLive.hls = hls;
    keepUp(hls, video);
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

/** Faster than this never (the page's hls.js maxLiveSyncPlaybackRate before). */
const MAX_RATE = 1.5;
/** Further behind the target than this (s), a jump within the buffer beats playing faster. */
const JUMP_S = 1;
/** Further behind than this (s), the viewer went back on purpose (a seek): left alone. */
const DVR_S = 3;
/** Speed up only with this much buffered ahead (s): two parts, so catching up does not stall. */
const MIN_AHEAD_S = 0.4;

/**
 * Keeps playback near hls.js's target latency: from the live edge (the playlist's last part end
 * plus its age) minus what is shown, play up to MAX_RATE while behind the target and enough is
 * buffered, and jump to hls.js's live sync position when that is buffered and far ahead.
 */
function keepUp(hls, video) {
  const tick = () => {
    const d = hls.latestLevelDetails;
    const target = hls.targetLatency;
    if (d === null || !d.live || target === null || video.paused || video.seeking) return;
    const behind = d.edge + d.age - video.currentTime - target;
    if (behind > DVR_S) return;
    const b = video.buffered;
    const end = b.length > 0 ? b.end(b.length - 1) : 0;
    const ahead = end - video.currentTime;
    const sync = hls.liveSyncPosition;
    // A jump lands at least one part before the buffer's end.
    if (behind > JUMP_S && sync !== null && sync > video.currentTime && sync < end - 0.2) {
      video.currentTime = sync;
      return;
    }
    // In steps of 0.05 from 1 (behind by 0.1 s: 1.1x), back to 1 within 50 ms of the target.
    const rate = behind > 0.05 && ahead > MIN_AHEAD_S
      ? Math.min(MAX_RATE, 1 + Math.round(behind * 20) / 20)
      : 1;
    if (video.playbackRate !== rate) video.playbackRate = rate;
  };
  setInterval(tick, 100);
}

if (path === "") list();
else play();
