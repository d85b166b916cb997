"use strict";
// The player page: lists /api/media and plays the chosen video. Deep links:
// /#path/to/video.mp4 or ?v=path, and ?t=SECONDS for the start position.
// With signed URLs on, the page's link carries ?grant=... (reelcache sign
// --page), which it passes to the API; when a media URL expires mid-film
// (a 403 on a range: the video's error event) it asks for a fresh one and
// resumes where it was, playing or paused.

const list = document.getElementById("list");
const video = document.getElementById("video");
const title = document.getElementById("title");
const info = document.getElementById("info");
const map = document.getElementById("map");
const cCached = document.getElementById("c-cached");
const cRedis = document.getElementById("c-redis");
const cLocal = document.getElementById("c-local");
const cDisk = document.getElementById("c-disk");
let items = [];
let current = null; // the item playing
let chunks = null;  // the last /api/chunks answer
let polling = false;
const smalls = new Map(); // path -> the <small> under its link
const grant = new URLSearchParams(location.search).get("grant");
let wantPlay = false;  // whether the viewer has the video playing
let refreshing = false;
let refreshes = 0;     // fresh URLs fetched since the video last loaded data
// Where to load hls.js from (packaging.hls_player_url; the page handler
// fills the <meta> in), the promise of its loading, and its player.
const hlsPlayer = document.querySelector('meta[name="reelcache-hls-player"]')?.content || "";
let hlsScript = null;
let hls = null;

// api returns an API URL with the page's grant, if any, and params.
function api(path, params = {}) {
  const q = new URLSearchParams(params);
  if (grant) q.set("grant", grant);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

function human(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

function wanted() {
  const q = new URLSearchParams(location.search);
  const hash = decodeURIComponent(location.hash.slice(1));
  return { path: hash || q.get("v") || "", t: parseFloat(q.get("t") || "0") || 0 };
}

function describe(it) {
  const small = smalls.get(it.path);
  if (!small) return;
  const approx = it.sampled ? "~" : "";
  const cached = it.chunks_cached == null ? "cache off" : `${approx}${it.chunks_cached}/${it.chunks_total} chunks cached`;
  small.textContent = `${human(it.size)} · ${cached}`;
}

function render() {
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "No videos in the media root.";
    list.append(li);
    return;
  }
  const cur = wanted().path;
  smalls.clear();
  for (const it of items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + encodeURIComponent(it.path).replace(/%2F/g, "/");
    a.textContent = it.path;
    a.setAttribute("aria-current", String(it.path === cur));
    const small = document.createElement("small");
    smalls.set(it.path, small);
    describe(it);
    a.append(small);
    li.append(a);
    list.append(li);
  }
}

const nativeHLS = () => video.canPlayType("application/vnd.apple.mpegurl") !== "";

// loadHLS loads hls.js from the operator's URL once, when first wanted:
// a viewer who never asks for HLS loads no player.
function loadHLS() {
  hlsScript ||= new Promise((res, rej) => {
    const s = document.createElement("script");
    s.src = hlsPlayer;
    s.onload = () => (window.Hls ? res(window.Hls) : rej(new Error("no Hls in the player script")));
    s.onerror = () => { hlsScript = null; s.remove(); rej(new Error("could not load hls.js")); };
    document.head.append(s);
  });
  return hlsScript;
}

function stopHLS() {
  if (hls) { hls.destroy(); hls = null; }
}

// playHLS plays it's /hls/ master from where the video is: natively, or
// with hls.js.
async function playHLS(it) {
  const t = video.currentTime;
  if (nativeHLS()) {
    video.src = it.hls;
    video.currentTime = t;
    video.play().catch(() => {});
    return;
  }
  try {
    const Hls = await loadHLS();
    if (!Hls.isSupported()) throw new Error("this browser cannot play HLS");
    if (current !== it) return;
    stopHLS();
    hls = new Hls({ startPosition: t });
    hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) info.textContent = `HLS error: ${d.type}: ${d.details}`; });
    hls.loadSource(it.hls);
    hls.attachMedia(video);
    video.play().catch(() => {});
  } catch (e) {
    info.textContent = `HLS: ${e.message}`;
  }
}

function play(start) {
  const { path, t } = wanted();
  const it = items.find((x) => x.path === path);
  render();
  if (!it) { title.textContent = path ? `Not found: ${path}` : "Pick a video"; return; }
  title.textContent = it.path;
  info.textContent = `${it.content_type} · ${human(it.size)}`;
  // HLS: the same cached bytes, packaged on the fly (/hls/), offered where
  // the browser plays it natively or, with packaging.hls_player_url set,
  // through hls.js from there.
  if (it.hls && (nativeHLS() || (hlsPlayer && (window.MediaSource || window.ManagedMediaSource)))) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Play as HLS";
    b.addEventListener("click", () => playHLS(it));
    info.append(" · ", b);
  }
  if (video.dataset.path !== it.path) {
    video.dataset.path = it.path;
    stopHLS();
    current = it;
    chunks = null;
    map.replaceChildren();
    video.src = it.url;
    if (typeof loadPreviews === "function") loadPreviews(it); // previews.js
    refreshMap();
    if (start && t > 0) {
      video.addEventListener("loadedmetadata", () => { video.currentTime = t; }, { once: true });
    }
  }
}

async function load() {
  try {
    const r = await fetch(api("/api/media"));
    if (r.status === 403) throw new Error(grant ? "this link has expired or is not valid" : "this server needs a signed link");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    items = await r.json();
  } catch (e) {
    list.replaceChildren();
    const li = document.createElement("li");
    li.textContent = `Could not list videos: ${e.message}`;
    list.append(li);
    return;
  }
  if (!wanted().path && items.length) {
    history.replaceState(null, "", location.pathname + location.search + "#" + items[0].path);
  }
  play(true);
}

// The chunk under the play head, estimated from the time: bytes are not
// spread evenly over time, so the mark is approximate.
function nowChunk() {
  if (!chunks || !chunks.chunks_total || !isFinite(video.duration) || video.duration <= 0) return -1;
  const off = (video.currentTime / video.duration) * chunks.size;
  return Math.min(chunks.chunks_total - 1, Math.floor(off / chunks.chunk_size));
}

function drawMap() {
  if (!chunks) return;
  const known = chunks.chunks_cached != null;
  const cells = known ? chunks.map.length : 0;
  const per = known ? chunks.cell_chunks || 1 : 1;
  if (map.children.length !== cells) {
    map.replaceChildren(...Array.from({ length: cells }, () => {
      const s = document.createElement("span");
      s.className = "cell";
      return s;
    }));
  }
  const n = chunks.chunks_total;
  const now = Math.floor(nowChunk() / per);
  for (let i = 0; i < cells; i++) {
    const c = map.children[i];
    c.classList.toggle("cached", chunks.map[i] === "1");
    c.classList.toggle("some", chunks.map[i] === "p");
    c.classList.toggle("now", i === now);
  }
  if (current) {
    current.chunks_cached = chunks.chunks_cached;
    current.sampled = chunks.sampled;
    describe(current);
  }
  const approx = chunks.sampled ? `~` : "";
  cCached.textContent = known ? `${approx}${chunks.chunks_cached} / ${n}` : `? / ${n} (cache off or down)`;
  map.title = chunks.sampled ? `one cell per ${per} chunks, judged by a sample of them` : "one cell per chunk";
  cRedis.textContent = human(chunks.redis_bytes);
  cLocal.textContent = human(chunks.local_bytes);
  cDisk.textContent = human(chunks.disk_bytes);
  map.setAttribute("aria-label", known ? `${chunks.chunks_cached} of ${n} chunks cached` : "cache state unknown");
}

async function refreshMap() {
  if (!current || polling) return;
  polling = true;
  const path = current.path;
  try {
    const r = await fetch(api("/api/chunks/" + encodeURIComponent(path).replace(/%2F/g, "/")));
    if (r.ok && current && current.path === path) {
      chunks = await r.json();
      drawMap();
    }
  } catch (e) {
    // The next tick tries again.
  } finally {
    polling = false;
  }
}

// Live while playing or seeking; slower when paused; not at all when hidden.
setInterval(() => {
  if (document.hidden) return;
  if (!video.paused || video.seeking) refreshMap();
}, 1000);
setInterval(() => { if (!document.hidden) refreshMap(); }, 5000);
for (const ev of ["seeked", "loadeddata", "pause", "ended"]) video.addEventListener(ev, refreshMap);
video.addEventListener("timeupdate", drawMap);

window.addEventListener("hashchange", () => play(false));
// What the viewer wants, told apart from what an error or a reload does.
video.addEventListener("play", () => { if (!refreshing) wantPlay = true; });
video.addEventListener("pause", () => { if (!refreshing && !video.error) wantPlay = false; });
// Data loaded: the URL works, so a later expiry may be refreshed again.
video.addEventListener("loadeddata", () => { refreshes = 0; });

// A media URL that expired (403) fails the next range the video asks for:
// fetch a fresh URL for the same file and resume at the same time, playing
// or paused. Two fresh URLs that fail without loading any data in between
// mean something else is wrong: then the error is shown.
async function refreshURL() {
  const it = current;
  const t = video.currentTime;
  const play = wantPlay;
  refreshing = true;
  refreshes++;
  try {
    const r = await fetch(api("/api/media", { path: it.path }));
    if (r.status === 403) throw new Error("this link has expired");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const [fresh] = await r.json();
    if (!fresh || current !== it) return;
    it.url = fresh.url;
    it.previews = fresh.previews;
    if (typeof loadPreviews === "function") loadPreviews(it);
    const loaded = new Promise((res, rej) => {
      video.addEventListener("loadedmetadata", res, { once: true });
      video.addEventListener("error", () => rej(new Error("the fresh URL failed too")), { once: true });
    });
    stopHLS();
    video.src = fresh.url;
    await loaded;
    video.currentTime = t;
    if (play) await video.play();
  } catch (e) {
    info.textContent = `Playback error: ${e.message}`;
  } finally {
    refreshing = false;
  }
}

video.addEventListener("error", () => {
  if (grant && current && !refreshing && refreshes < 2) {
    refreshURL();
    return;
  }
  if (refreshing) return; // refreshURL reports it
  info.textContent = `Playback error: ${video.error ? video.error.message || video.error.code : "unknown"}`;
});

load();
