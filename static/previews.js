"use strict";
// Seek previews: the bar under the video shows, while the pointer hovers or
// drags on it, the tile of the file's WebVTT previews (/previews/NAME.vtt,
// cues pointing at sprite-N.jpg#xywh=x,y,w,h) for the time under the
// pointer, with the time. A file without previews (none made yet, ffmpeg
// missing, a file ffmpeg cannot read) shows the time alone.
const seek = document.getElementById("seek");
const seekFill = document.getElementById("seek-fill");
const preview = document.getElementById("preview");
const previewTile = document.getElementById("preview-tile");
const previewTime = document.getElementById("preview-time");
let cues = [];     // the current file's cues: {start, end, url, x, y, w, h}
let dragging = false;
let preloaded = false; // the current file's sprite sheets were asked for

function parseTime(s) {
  const p = s.split(":").map(Number);
  return p.reduce((acc, v) => acc * 60 + v, 0);
}

function parseVTT(text, base) {
  const out = [];
  const re = /^([\d:.]+) --> ([\d:.]+)\r?\n(\S+?)#xywh=(\d+),(\d+),(\d+),(\d+)\s*$/gm;
  for (const m of text.matchAll(re)) {
    out.push({ start: parseTime(m[1]), end: parseTime(m[2]), url: new URL(m[3], base).href,
      x: +m[4], y: +m[5], w: +m[6], h: +m[7] });
  }
  return out;
}

async function loadPreviews(it) {
  cues = [];
  preloaded = false;
  seek.dataset.previews = "none";
  if (!it.previews) return;
  try {
    // 503 while the previews are being made: ask again as told.
    for (let i = 0; i < 10 && current === it; i++) {
      const r = await fetch(it.previews);
      if (r.status === 503) {
        const wait = Math.min(30, parseInt(r.headers.get("Retry-After") || "5", 10) || 5);
        await new Promise((res) => setTimeout(res, wait * 1000));
        continue;
      }
      if (!r.ok) return; // none for this file: the time alone
      const parsed = parseVTT(await r.text(), new URL(it.previews, location.href));
      if (current === it) {
        cues = parsed;
        seek.dataset.previews = cues.length ? "ready" : "none";
      }
      return;
    }
  } catch (e) {
    // Quietly without previews.
  }
}

function clock(t) {
  t = Math.max(0, Math.floor(t));
  const h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
}

// timeAt returns the time under a pointer at clientX, and its fraction.
function timeAt(clientX) {
  const r = seek.getBoundingClientRect();
  const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
  return { f, t: isFinite(video.duration) ? f * video.duration : 0 };
}

function showPreview(clientX) {
  const { f, t } = timeAt(clientX);
  if (!isFinite(video.duration) || video.duration <= 0) { preview.hidden = true; return; }
  const c = cues.find((q) => t >= q.start && t < q.end) || (t >= video.duration && cues[cues.length - 1]);
  previewTile.hidden = !c;
  if (c) {
    previewTile.style.width = c.w + "px";
    previewTile.style.height = c.h + "px";
    previewTile.style.backgroundImage = `url("${c.url}")`;
    previewTile.style.backgroundPosition = `-${c.x}px -${c.y}px`;
  }
  previewTime.textContent = clock(t);
  preview.style.left = (f * 100) + "%";
  preview.hidden = false;
  preview.dataset.time = String(t);
}

function seekTo(clientX) {
  const { t } = timeAt(clientX);
  if (isFinite(video.duration)) video.currentTime = t;
}

// The first time the pointer comes onto the bar, every sheet is asked
// for (a 2-hour film has 1 or 2), so that moving along it shows tiles at
// once; a viewer who never seeks by pointer costs no sprite bytes.
seek.addEventListener("pointerenter", () => {
  if (preloaded || !cues.length) return;
  preloaded = true;
  for (const u of new Set(cues.map((c) => c.url))) new Image().src = u;
});
seek.addEventListener("pointermove", (e) => { showPreview(e.clientX); if (dragging) seekTo(e.clientX); });
seek.addEventListener("pointerdown", (e) => {
  dragging = true;
  seek.setPointerCapture(e.pointerId);
  showPreview(e.clientX);
  seekTo(e.clientX);
});
seek.addEventListener("pointerup", () => { dragging = false; });
seek.addEventListener("pointercancel", () => { dragging = false; preview.hidden = true; });
seek.addEventListener("pointerleave", () => { if (!dragging) preview.hidden = true; });
seek.addEventListener("keydown", (e) => {
  if (!isFinite(video.duration)) return;
  const step = { ArrowLeft: -5, ArrowRight: 5 }[e.key];
  if (step) { video.currentTime = Math.min(video.duration, Math.max(0, video.currentTime + step)); e.preventDefault(); }
});
function drawSeek() {
  const d = isFinite(video.duration) ? video.duration : 0;
  seekFill.style.width = d ? (video.currentTime / d) * 100 + "%" : "0";
  seek.setAttribute("aria-valuemax", String(Math.round(d)));
  seek.setAttribute("aria-valuenow", String(Math.round(video.currentTime)));
  seek.setAttribute("aria-valuetext", clock(video.currentTime));
}
for (const ev of ["timeupdate", "durationchange", "seeking", "emptied"]) video.addEventListener(ev, drawSeek);
// app.js may have picked the file before this script ran.
if (current) loadPreviews(current);
