#!/usr/bin/env bash
# The packager's benchmark row (issue 22), bounded to about two minutes:
# warm HLS segments packaged on the fly by reelcache (Redis + local tier)
# against nginx serving the same title pre-packaged by ffmpeg into static
# fMP4 segments (sendfile), and, for CPU per GB, reelcache's plain /media/
# ranges of the same size. Each peer runs in turn, ROUNDS times
# (interleaved: nginx, packager, media, nginx, ...), with wrk cycling
# through every segment; the medians are printed as a table with ratios
# against nginx from the same run, with CPU seconds per GB of the server
# process and reelcache's bytes by source (from /metrics).
#
# With FILM=1 it also makes a two-hour film (tiny picture, H.264 with
# B-frames, AAC: the sample tables of a real one; about 80 s more) and
# reports what indexing it costs (stream/mp4index TestFilmFigures).
#
# Env: ROUNDS (3), DUR (8s), CONNS (16), SECS (60: the title's length),
# SIZE (640x360), FILM (off), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8s}
CONNS=${CONNS:-16}
SECS=${SECS:-60}
SIZE=${SIZE:-640x360}
for t in redis-server ffmpeg wrk curl; do
	command -v "$t" >/dev/null || { echo "bench-packaging: $t is missing (scripts/deps.sh)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench-packaging: nginx is missing" >&2; exit 1; }

work=$(mktemp -d /tmp/reelcache-bench-packaging.XXXXXX)
chmod 755 "$work" # nginx's worker runs as another user
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
cleanup() {
	stop_all
	[ -n "${KEEP:-}" ] && echo "bench-packaging: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/reelcache" ./cmd/reelcache
media=$work/media
mkdir -p "$media/title" "$work/pre"
echo "bench-packaging: making a ${SECS} s $SIZE title with ffmpeg" >&2
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$SIZE:rate=24" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
	-t "$SECS" -c:v libx264 -preset veryfast -b:v 1500k -bf 3 -g 48 -keyint_min 48 -sc_threshold 0 -pix_fmt yuv420p \
	-c:a aac -b:a 96k -movflags +faststart "$media/title/a.mp4"
# The peer: the same title pre-packaged by ffmpeg (6 s fMP4 segments).
ffmpeg -hide_banner -loglevel error -y -i "$media/title/a.mp4" -c copy -f hls -hls_time 6 -hls_segment_type fmp4 \
	-hls_playlist_type vod -hls_fmp4_init_filename init.mp4 -hls_segment_filename "$work/pre/seg-%d.m4s" "$work/pre/p.m3u8"

rport=$(free_port)
launch redis "$rport" redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --maxmemory 1gb --maxmemory-policy allkeys-lru
nport=$(free_port)
launch nginx "$nport" "$NGINX" -c "$(nginx_conf nginx "$nport" "location /pre/ { alias $work/pre/; sendfile on; tcp_nopush on; }" "types { video/mp4 m4s mp4; }")" -e "$work/log/nginx-error.log"
pport=$(free_port)
launch reelcache "$pport" "$work/reelcache" serve --media-root "$media" --redis-url "redis://127.0.0.1:$rport/0" \
	--listen "127.0.0.1:$pport" --cache-local-dir "$work" --log-level warn
rc=$(url_of reelcache)
ng=$(url_of nginx)

# Warm: chunks and the index into Redis, then every segment read once.
"$work/reelcache" warm --media-root "$media" --redis-url "redis://127.0.0.1:$rport/0" --log-level warn >/dev/null
mapfile -t segs < <(curl -fsS "$rc/hls/title/a.mp4/media.m3u8" | grep -v '^#')
mapfile -t pre < <(grep -v '^#' "$work/pre/p.m3u8")
for s in "${segs[@]}"; do curl -fsS -o /dev/null "$rc/hls/title/a.mp4/$s"; done
for s in "${segs[@]}"; do curl -fsS -o /dev/null "$rc/hls/title/a.mp4/$s"; done
seg_bytes=$(for s in "${segs[@]}"; do curl -fsS "$rc/hls/title/a.mp4/$s" | wc -c; done | awk '{t+=$1} END {print int(t/NR)}')
size=$(stat -c %s "$media/title/a.mp4")

# wrk scripts: cycle through a list of paths; or random ranges of seg_bytes.
paths_lua() { # FILE PREFIX PATH...
	local f=$1 p=$2
	shift 2
	{
		echo "local paths = {"
		for s in "$@"; do echo "  \"$p$s\","; done
		echo "}"
		echo 'local i = 0'
		echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
	} >"$f"
}
paths_lua "$work/pkg.lua" /hls/title/a.mp4/ "${segs[@]}"
paths_lua "$work/pre.lua" /pre/ "${pre[@]}"
cat >"$work/media.lua" <<LUA
math.randomseed(7)
request = function()
  local off = math.random(0, $size - $seg_bytes - 1)
  return wrk.format("GET", "/media/title/a.mp4", { ["Range"] = "bytes=" .. off .. "-" .. (off + $seg_bytes - 1) })
end
LUA

cpu_of() { # PID: user+system CPU seconds (clock ticks / 100)
	awk '{print ($14 + $15) / 100}' "/proc/$1/stat"
}
served() { # reelcache's served bytes "redis local disk", from /metrics
	curl -fsS "$rc/metrics" | sed -nE 's/^reelcache_served_bytes_total\{source="([a-z]+)"\} (.*)/\1 \2/p' |
		awk '{v[$1]=$2} END {printf "%.0f %.0f %.0f", v["redis"], v["local"], v["disk"]}'
}
declare -a src_pkg=(0 0 0)

declare -A mbps p99 cpugb
run() { # NAME URL LUA PID
	local name=$1 url=$2 lua=$3 pid=$4 out c0 c1 bytes secs
	c0=$(cpu_of "$pid")
	out=$(wrk -t2 -c"$CONNS" -d"$DUR" --latency -s "$lua" "$url")
	c1=$(cpu_of "$pid")
	bytes=$(echo "$out" | awk '/requests in/ {v=$5; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2); m=1; if (u=="KB") m=1024; if (u=="MB") m=1048576; if (u=="GB") m=1073741824; printf "%.0f", n*m}')
	secs=$(echo "$out" | awk '/requests in/ {s=$4; sub(/s,$/, "", s); print s}')
	mbps[$name]+="$(awk -v b="$bytes" -v s="$secs" 'BEGIN {printf "%.1f", b / 1048576 / s}') "
	p99[$name]+="$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /ms$/) printf "%.2f", substr(v,1,length(v)-2); else if (v ~ /us$/) printf "%.3f", substr(v,1,length(v)-2)/1000; else printf "%.0f", substr(v,1,length(v)-1)*1000}') "
	cpugb[$name]+="$(awk -v c="$(echo "$c1 - $c0" | bc)" -v b="$bytes" 'BEGIN {printf "%.2f", (b > 0 ? c / (b / 1073741824) : 0)}') "
	if echo "$out" | grep -q "Non-2xx"; then
		echo "bench-packaging: $name: non-2xx answers" >&2
		echo "$out" >&2
		exit 1
	fi
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

nginx_pid=$(cat "$work/run/nginx.stat")
rc_pid=$(cat "$work/run/reelcache.pid")
echo "bench-packaging: ${#segs[@]} segments of ${seg_bytes} bytes on average; $ROUNDS rounds of $DUR, $CONNS connections" >&2
for r in $(seq "$ROUNDS"); do
	run nginx "$ng" "$work/pre.lua" "$nginx_pid"
	read -r r0 l0 d0 <<<"$(served)"
	run packager "$rc" "$work/pkg.lua" "$rc_pid"
	read -r r1 l1 d1 <<<"$(served)"
	src_pkg=($((src_pkg[0] + r1 - r0)) $((src_pkg[1] + l1 - l0)) $((src_pkg[2] + d1 - d0)))
	run media "$rc" "$work/media.lua" "$rc_pid"
	echo "bench-packaging: round $r done" >&2
done

nginx_mbps=$(echo "${mbps[nginx]}" | median)
nginx_p99=$(echo "${p99[nginx]}" | median)
echo
echo "| server | MB/s | x nginx | p99 ms | x nginx | CPU s/GB |"
echo "|---|---|---|---|---|---|"
for n in nginx packager media; do
	m=$(echo "${mbps[$n]}" | median)
	p=$(echo "${p99[$n]}" | median)
	c=$(echo "${cpugb[$n]}" | median)
	label=$n
	case $n in
	nginx) label="nginx, static fMP4 segments by ffmpeg" ;;
	packager) label="reelcache /hls/ segments, warm" ;;
	media) label="reelcache /media/ ranges of a segment's size, warm" ;;
	esac
	printf "| %s | %s | %.2f | %s | %.2f | %s |\n" "$label" "$m" "$(echo "$m / $nginx_mbps" | bc -l)" "$p" "$(echo "$p / $nginx_p99" | bc -l)" "$c"
done
echo
awk -v r="${src_pkg[0]}" -v l="${src_pkg[1]}" -v d="${src_pkg[2]}" 'BEGIN {
	printf "packager segments, payload by source: Redis %.0f MB, local tier %.0f MB, origin %.0f MB\n", r / 1048576, l / 1048576, d / 1048576 }'

if [ -n "${FILM:-}" ]; then
	echo "bench-packaging: making a two-hour film with ffmpeg" >&2
	ffmpeg -hide_banner -loglevel error -y -f lavfi -i color=c=gray:size=32x32:rate=24 -f lavfi -i anullsrc=r=48000:cl=stereo \
		-t 7200 -c:v libx264 -preset ultrafast -bf 3 -g 48 -c:a aac -b:a 16k "$work/film.mp4"
	REELCACHE_FILM=$work/film.mp4 go test -count=1 -v -run '^TestFilmFigures$' ./stream/mp4index | grep -E 'film_test|FAIL' || true
fi
