"use strict";
// The player page: lists /api/media and plays the chosen video. Deep links:
// /#path/to/video.mp4 or ?v=path, and ?t=SECONDS for the start position.

const list = document.getElementById("list");
const video = document.getElementById("video");
const title = document.getElementById("title");
const info = document.getElementById("info");
let items = [];

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
  for (const it of items) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + encodeURIComponent(it.path).replace(/%2F/g, "/");
    a.textContent = it.path;
    a.setAttribute("aria-current", String(it.path === cur));
    const small = document.createElement("small");
    const cached = it.chunks_cached == null ? "cache off" : `${it.chunks_cached}/${it.chunks_total} chunks cached`;
    small.textContent = `${human(it.size)} · ${cached}`;
    a.append(small);
    li.append(a);
    list.append(li);
  }
}

function play(start) {
  const { path, t } = wanted();
  const it = items.find((x) => x.path === path);
  render();
  if (!it) { title.textContent = path ? `Not found: ${path}` : "Pick a video"; return; }
  title.textContent = it.path;
  info.textContent = `${it.content_type} · ${human(it.size)}`;
  if (video.dataset.path !== it.path) {
    video.dataset.path = it.path;
    video.src = it.url;
    if (start && t > 0) {
      video.addEventListener("loadedmetadata", () => { video.currentTime = t; }, { once: true });
    }
  }
}

async function load() {
  try {
    const r = await fetch("/api/media");
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

window.addEventListener("hashchange", () => play(false));
video.addEventListener("error", () => {
  info.textContent = `Playback error: ${video.error ? video.error.message || video.error.code : "unknown"}`;
});
load();
