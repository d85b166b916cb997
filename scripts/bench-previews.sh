#!/usr/bin/env bash
# Seek previews benchmark (issue 23): a 20-minute 720p H.264 film (GOP 10 s,
# ~1.5 Mbit/s; one minute of testsrc2 encoded once, then repeated without
# re-encoding), previews made by `reelcache serve` cold (every byte from the
# origin, a local directory) and warm (after `reelcache warm`, the previews
# value deleted), each against the peer: the same ffmpeg command reading the
# file directly, in the same run. Reports the job's time against the film's
# duration, its ratio to the peer, the peak RSS of ffmpeg and of reelcache
# while the job ran, and the bytes the job read by source. Then /media/
# throughput of the warm film with and without a preview job running (of a
# copy of the film, touched for a new version each round), interleaved, at
# previews.max_jobs 1.
#
# Bounded to about two minutes (most of it making the film, which is kept in
# WORK for the next run; the rounds take about a minute). Usage: scripts/bench-previews.sh [WORK]
set -euo pipefail
work=${1:-/tmp/reelcache-bench-previews}
mkdir -p "$work/media"
cd "$(dirname "$0")/.."
root=$PWD
dur=1200
film=$work/media/film.mp4

if [ ! -s "$film" ]; then
  echo "making a ${dur}s 720p film in $film ..." >&2
  nice ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25:duration=60 -f lavfi -i sine=d=60 \
    -c:v libx264 -preset veryfast -b:v 1500k -g 250 -keyint_min 250 -sc_threshold 0 -pix_fmt yuv420p \
    -c:a aac -b:a 96k -shortest "$work/minute.mp4"
  nice ffmpeg -v error -y -stream_loop $((dur / 60 - 1)) -i "$work/minute.mp4" -c copy "$film"
  rm -f "$work/minute.mp4"
fi
size=$(stat -c %s "$film")

go build -o "$work/reelcache" ./cmd/reelcache
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --maxmemory 2gb --maxmemory-policy allkeys-lru \
  --dir "$work" >/dev/null &
rpid=$!
hport=$(port)
export REELCACHE_REDIS_URL=redis://127.0.0.1:$rport/0 REELCACHE_MEDIA_ROOT=$work/media REELCACHE_CACHE_SETTLE=0
base=http://127.0.0.1:$hport
spid=
trap 'kill $spid $rpid 2>/dev/null; wait 2>/dev/null' EXIT
# start_serve: a fresh `reelcache serve` (nothing in its memory).
start_serve() {
  [ -z "$spid" ] || { kill "$spid"; wait "$spid" 2>/dev/null || true; }
  "$work/reelcache" serve --listen 127.0.0.1:"$hport" --previews-wait 10m --previews-timeout 10m 2>>"$work/serve.log" >/dev/null &
  spid=$!
  for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
}
: >"$work/serve.log"
start_serve

# peak RSS (KiB) of pid's children named ffmpeg, and of pid, while $1 runs.
watch_rss() {
  local out=$1 pid=$2
  local fmax=0 smax=0
  while kill -0 "$pid" 2>/dev/null && [ ! -e "$out.stop" ]; do
    for c in $(pgrep -P "$pid" -x ffmpeg || true); do
      r=$(awk '/VmHWM/ {print $2}' "/proc/$c/status" 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$fmax" ] && fmax=$r
    done
    r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$smax" ] && smax=$r
    sleep 0.05
  done
  echo "$fmax $smax" >"$out"
}

metric() { curl -s "$base/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
bytes_by_source() {
  local r l o
  r=$(metric 'reelcache_preview_read_bytes_total{source="redis"}')
  l=$(metric 'reelcache_preview_read_bytes_total{source="local"}')
  o=$(metric 'reelcache_preview_read_bytes_total{source="origin"}')
  printf 'redis %.0f local %.0f origin %.0f' "${r:-0}" "${l:-0}" "${o:-0}"
}

# job LABEL: asks for the previews and reports the job.
job() {
  local label=$1 after t0 t1
  rm -f "$work/rss" "$work/rss.stop"
  watch_rss "$work/rss" "$spid" &
  local wpid=$!
  t0=$(date +%s.%N)
  code=$(curl -s -o "$work/film.vtt" -w '%{http_code}' "$base/previews/film.mp4.vtt")
  t1=$(date +%s.%N)
  touch "$work/rss.stop"; wait $wpid
  [ "$code" = 200 ] || { echo "previews: HTTP $code" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
  read -r frss srss <"$work/rss"
  after=$(bytes_by_source)
  secs=$(echo "$t1 - $t0" | bc -l)
  echo "$label: $(printf %.2f "$secs") s for ${dur} s of film (1/$(printf %.0f "$(echo "$dur / $secs" | bc -l)") of its duration), ffmpeg peak RSS $((frss / 1024)) MiB, reelcache peak RSS $((srss / 1024)) MiB"
  echo "  bytes the job read: $after (file $size; this process's counters)"
  grep 'previews made' "$work/serve.log" | tail -1 | sed 's/^/  /'
  last_secs=$secs
}

# peer LABEL: the job's ffmpeg command on the file itself (same decode mode).
peer() {
  local kf t0 t1 skip=() show=""
  kf=$(grep 'previews made' "$work/serve.log" | tail -1 | sed -n 's/.*keyframes=\([a-z]*\).*/\1/p')
  iv=$(grep 'previews made' "$work/serve.log" | tail -1 | sed -n 's/.*interval_s=\([0-9.]*\).*/\1/p')
  tiles=$(grep 'previews made' "$work/serve.log" | tail -1 | sed -n 's/.*tiles=\([0-9]*\).*/\1/p')
  [ "$kf" = true ] && skip=(-skip_frame nokey) && show="showinfo,"
  rm -rf "$work/peer" && mkdir -p "$work/peer"
  t0=$(date +%s.%N)
  nice -n 10 ffmpeg -hide_banner -nostdin -nostats -v error -xerror "${skip[@]}" -i "$film" -map 0:v:0 -an -sn -dn \
    -vf "${show}fps=fps=1000/$(printf %.0f "$(echo "$iv * 1000" | bc -l)"):start_time=0:round=up,trim=end_frame=$tiles,scale=160:90,tile=10x10" \
    -fps_mode passthrough -q:v 4 -start_number 0 -f image2 -y "$work/peer/sprite-%d.jpg" 2>/dev/null
  t1=$(date +%s.%N)
  psecs=$(echo "$t1 - $t0" | bc -l)
  echo "  peer (ffmpeg on the file, keyframes=$kf): $(printf %.2f "$psecs") s; reelcache/peer $(printf %.2f "$(echo "$last_secs / $psecs" | bc -l)")x"
}

median() { python3 -c 'import sys; v=sorted(map(float, sys.argv[1:])); print("%.2f" % v[len(v)//2])' "$@"; }

sync
echo "film: $film, $size bytes, ${dur} s, 1280x720 H.264 GOP 10 s; 3 rounds each, job and peer interleaved"
jobs=() peers=()
for round in 1 2 3; do
  touch "$film" # a new version: nothing of it in Redis
  start_serve
  job "cold (origin only) round $round"
  peer
  jobs+=("$last_secs") peers+=("$psecs")
done
echo "COLD median: job $(median "${jobs[@]}") s, peer $(median "${peers[@]}") s; job/peer $(printf %.2f "$(echo "$(median "${jobs[@]}") / $(median "${peers[@]}")" | bc -l)")x"
"$work/reelcache" warm film.mp4 >/dev/null 2>&1
version=$(sed -n 's|^/previews/film.mp4/\([0-9a-f]*\)/sprite-0.jpg.*|\1|p' "$work/film.vtt" | head -1)
jobs=() peers=()
for round in 1 2 3; do
  [ "$(redis-cli -p "$rport" del "reelcache:m:$version:previews")" = 1 ] || { echo "no previews value for version $version" >&2; exit 1; }
  start_serve # nothing in its memory
  job "warm (after reelcache warm) round $round"
  peer
  jobs+=("$last_secs") peers+=("$psecs")
done
echo "WARM median: job $(median "${jobs[@]}") s, peer $(median "${peers[@]}") s; job/peer $(printf %.2f "$(echo "$(median "${jobs[@]}") / $(median "${peers[@]}")" | bc -l)")x"

# /media/ throughput while a job runs: a GET of the whole warm film, alone
# or 0.3 s into a job on a copy (a new version each round), interleaved.
cp "$film" "$work/media/copy.mp4"
dl() { curl -s -o /dev/null -w '%{speed_download}' "$base/media/film.mp4"; }
dl >/dev/null # the local tier and Redis are warm for this process
alone=() during=()
for round in 1 2 3; do
  alone+=("$(dl)")
  touch "$work/media/copy.mp4"
  curl -s -o /dev/null "$base/previews/copy.mp4.vtt" &
  cpid=$!
  sleep 0.3
  pgrep -P "$spid" -x ffmpeg >/dev/null || pgrep -P "$spid" -x ffprobe >/dev/null || echo "  (round $round: the job was not running during the GET)"
  during+=("$(dl)")
  wait $cpid
done
ratio=$(python3 -c 'import sys; a=sorted(map(float, sys.argv[1].split())); d=sorted(map(float, sys.argv[2].split())); print("%.0f %.0f %.2f" % (a[1]/2**20, d[1]/2**20, d[1]/a[1]))' "${alone[*]}" "${during[*]}")
read -r ma md r <<<"$ratio"
echo "/media/ GET of the warm film (median of 3, interleaved): alone $ma MiB/s, during a preview job $md MiB/s; during/alone ${r}x"
rm -f "$work/media/copy.mp4"
