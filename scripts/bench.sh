#!/usr/bin/env bash
# `make bench`: reelcache against its peers on the same media, loopback
# only, bounded (about 6 minutes on 2 cores, plus the Go benchmarks).
# Starts its own redis-server (maxmemory 3gb, allkeys-lru, no persistence;
# one database per group of instances, so that a cold row can empty its
# own), reelcache instances, nginx, the ServeContent and go-redis peers;
# runs each scenario against its servers interleaved (A B C A B C ...),
# several rounds, and writes the medians to BENCHMARKS.md (the section
# between the markers) and bench-results.jsonl.
#
# Scenarios: random 1 MiB ranges (8 and 64 clients), browser-like seeks,
# 500 viewers, a hot video that fits the default local tier, a cold long
# tail, cold starts (this file); slow storage and three instances on it
# (scripts/bench-slow.sh, needs FUSE); a slow remote origin
# (scripts/bench-remote.sh). Every reelcache row reports the bytes it served
# from Redis, its local tier and the origin, from its /metrics.
#
# Env: ROUNDS (3), DUR (3s), VIEWERS (500, at 8 Mbit/s), VIEWERS2 (2000, at 2 Mbit/s: the
# same bandwidth on four times the connections), VIEWER_DUR (10s), BIG_FILES (4 x 64 MiB),
# LOCAL (384MiB: the media fits), TAIL_FILES (300, 0.5-1.5 MiB each),
# SLOW_ROUNDS (2), SLOW_DUR ($DUR), SLOW_LATENCY (8ms), SLOW_RATE (80MB/s),
# REMOTE_LATENCY (10ms), REMOTE_RATE (80MB/s); KEEP=1 keeps the work directory (logs);
# SCENARIOS (all: "ranges seek viewers hot tail cold slow remote") runs only
# those (the section written to BENCHMARKS.md then holds only those);
# BENCH_BIN measures that reelcache binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-3s}
VIEWERS=${VIEWERS:-500}
VIEWERS2=${VIEWERS2:-2000}
VIEWER_DUR=${VIEWER_DUR:-10s}
BIG_FILES=${BIG_FILES:-4}
LOCAL=${LOCAL:-384MiB}
TAIL_FILES=${TAIL_FILES:-300}
SLOW_ROUNDS=${SLOW_ROUNDS:-2}
SLOW_DUR=${SLOW_DUR:-$DUR}
SLOW_LATENCY=${SLOW_LATENCY:-8ms}
SLOW_RATE=${SLOW_RATE:-80MB/s}
REMOTE_LATENCY=${REMOTE_LATENCY:-10ms}
REMOTE_RATE=${REMOTE_RATE:-80MB/s}
SCENARIOS=${SCENARIOS:-ranges seek viewers hot tail cold slow remote}
started=$(date +%s)
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "bench: missing ${need[*]}: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# BENCH_BIN: measure that reelcache binary (another branch's build)
# instead of this checkout's.
RC=${BENCH_BIN:-bin/reelcache}
[ -n "${BENCH_BIN:-}" ] || go build -o bin/reelcache ./cmd/reelcache
# The integrity A/B: the same code with the check of cached values off
# (chunker/store/check_off.go), never shipped.
go build -tags reelcache_nocheck -o bin/reelcache-nocheck ./cmd/reelcache
go build -o bin/reelbench ./cmd/reelbench

work=$(mktemp -d)
chmod 755 "$work" # nginx's worker runs as another user
export work
# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh
# shellcheck source=scripts/bench-slow.sh
. scripts/bench-slow.sh
# shellcheck source=scripts/bench-remote.sh
. scripts/bench-remote.sh
cleanup() {
	if [ -z "${finished:-}" ] && [ -s "$work/section.md" ]; then
		cp "$work/section.md" bench-section.md
		echo "bench: the run did not finish; what it measured is in bench-section.md" >&2
	fi
	stop_all
	slow_unmount
	wait 2>/dev/null || true
	if mountpoint -q "$work/slow" 2>/dev/null; then
		echo "bench: $work/slow is still mounted; not removing $work" >&2
	elif [ -n "${KEEP:-}" ]; then
		echo "bench: logs and media kept in $work (KEEP set)" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
ctl="scripts/bench-ctl.sh $work reset"

to_bytes() { # 64MiB, 1GiB, 500KB, 123 -> bytes
	local v=$1 n u
	n=${v%%[!0-9]*}
	u=${v#"$n"}
	case $u in
	"" | B) echo "$n" ;;
	KiB) echo $((n << 10)) ;; MiB) echo $((n << 20)) ;; GiB) echo $((n << 30)) ;;
	KB | kB) echo $((n * 1000)) ;; MB) echo $((n * 1000000)) ;; GB) echo $((n * 1000000000)) ;;
	*) echo 0 ;;
	esac
}

# The media: the samples and BIG_FILES random 64 MiB files at the top
# level (what most scenarios read: -match '*'), a hot video under hot/, and
# a long tail of small files under tail/.
media=$work/media
mkdir -p "$media/hot" "$media/tail"
cp testdata/media/* "$media/"
for i in $(seq "$BIG_FILES"); do head -c $((64 << 20)) /dev/urandom >"$media/big$i.mp4"; done
default_local=$("$RC" serve --help | sed -n 's/.*--cache-local-bytes .*(default "\([^"]*\)").*/\1/p')
default_local_bytes=$(to_bytes "${default_local:-0}")
if [ "$default_local_bytes" -gt 0 ]; then
	hot_bytes=$((default_local_bytes * 3 / 4 >> 20 << 20))
	[ "$hot_bytes" -le $((256 << 20)) ] || hot_bytes=$((256 << 20)) # fits; bounded to keep the run short
else
	hot_bytes=$((48 << 20))
fi
head -c "$hot_bytes" /dev/urandom >"$media/hot/hot.mp4"
for i in $(seq -w 1 "$TAIL_FILES"); do
	head -c $(((512 + RANDOM % 1024) << 10)) /dev/urandom >"$media/tail/t$i.mp4"
done
chmod -R a+rX "$media"
top=$(cd "$media" && ls -- *.mp4 *.webm)
echo "bench: media $(du -sh "$media" | cut -f1) in $media, made in $((SECONDS)) s" >&2

rport=$(free_port)
launch redis "$rport" redis-server --bind 127.0.0.1 --port "$rport" --dir "$work" --save '' --appendonly no \
	--maxmemory 3gb --maxmemory-policy allkeys-lru --databases 16
R=redis://127.0.0.1:$rport
flushdb() { echo "redis-cli -p $rport -n $1 flushdb >/dev/null"; }

# serve NAME DB [FLAGS...]: a reelcache instance on Redis database DB ("off":
# no Redis), serving $MEDIA_ROOT (default $media; "none": no --media-root).
serve() {
	local name=$1 url=$R/$2 root=${MEDIA_ROOT:-$media} port
	shift 2
	[ "$url" = "$R/off" ] && url=""
	port=$(free_port)
	local args=(--listen "127.0.0.1:$port" --redis-url "$url" --log-level warn)
	[ "$root" = none ] || args+=(--media-root "$root")
	launch "$name" "$port" "$RC" serve "${args[@]}" "$@"
}
serve rc-warm 0 --cache-local-bytes 0 --cache-min-uses 1 # cold start rows: every miss cached, coalesced
RC=bin/reelcache-nocheck serve rc-nocheck 0 --cache-local-bytes 0
serve rc-local 0 --cache-local-bytes "$LOCAL"
serve rc-cold-local 0 --cache-local-bytes "$LOCAL" --cache-min-uses 1 # untouched until the second cold start
serve rc-off off
serve rc-default 0 # the default configuration
serve rc-tail 1    # the default configuration, emptied before each round of the long tail
flushdb 1 >"$work/run/rc-tail.clean"
serve rc-tail2 2 --cache-min-uses 1 # the same caching every miss (cache.min_uses 1, the default before issue 20)
flushdb 2 >"$work/run/rc-tail2.clean"
nport=$(free_port)
launch nginx "$nport" "$NGINX" -c "$(nginx_conf nginx "$nport" "location /media/ { alias $media/; sendfile on; tcp_nopush on; }")" -e "$work/log/nginx-error.log"
pport=$(free_port)
launch plain "$pport" bin/reelbench plain -root "$media" -listen "127.0.0.1:$pport"
gport=$(free_port)
launch goredis "$gport" bin/reelbench redispeer -root "$media" -redis "$R/0" -listen "127.0.0.1:$gport"

# shellcheck disable=SC2086
"$RC" warm --media-root "$media" --redis-url "$R/0" --log-level warn $top hot/hot.mp4 >&2

tgt t_nginx nginx nginx
tgt t_plain servecontent plain
tgt t_goredis goredis-peer goredis
tgt t_warm reelcache-warm rc-warm
tgt t_nocheck reelcache-warm-unchecked rc-nocheck
tgt t_local reelcache-local rc-local
tgt t_off reelcache-off rc-off
tgt t_default reelcache-default rc-default
tgt t_tail reelcache-default-cold rc-tail -- "reset=$ctl rc-tail"
tgt t_tail2 reelcache-min-uses-1-cold rc-tail2 -- "reset=$ctl rc-tail2"
out=$work/section.md
json=bench-results.jsonl
: >"$json"
compare() { bin/reelbench compare -json "$json" "$@"; }
timed() { # FUNC: run it, and say on stderr how long it took
	local t0=$SECONDS
	"$1"
	echo "bench: $1 took $((SECONDS - t0)) s" >&2
}
ranges() {
	local c
	for c in 8 64; do
		echo "### Random 1 MiB ranges, $c clients"
		echo
		# The go-redis peer where its target is (8 clients): the Redis path's ceiling.
		local peer=()
		[ "$c" = 8 ] && peer=("${t_goredis[@]}")
		compare -root "$media" -match '*' -scenario ranges -clients "$c" -duration "$DUR" -rounds "$ROUNDS" -label "ranges-$c" \
			"${t_nginx[@]}" "${t_plain[@]}" "${peer[@]}" "${t_warm[@]}" "${t_nocheck[@]}" "${t_local[@]}" "${t_off[@]}"
		echo
	done
}
seek() {
	echo "### Browser-like seeks: bytes=N- at random N, read 2 MiB, close; 32 clients"
	echo
	compare -root "$media" -match '*' -scenario seek -clients 32 -duration "$DUR" -rounds "$ROUNDS" -label seek-32 \
		"${t_nginx[@]}" "${t_plain[@]}" "${t_warm[@]}" "${t_local[@]}" "${t_off[@]}"
	echo
}
viewers() {
	echo "### $VIEWERS viewers at 8 Mbit/s each for $VIEWER_DUR (RSS at the end; stalls: a viewer more than 1 s behind)"
	echo
	echo "Each viewer plays one of the $BIG_FILES films of 64 MiB (all in Redis) from a random offset, as a library's viewers do; the"
	echo "small samples, which any tier holds at once, are left out (until issue 20 they were in, and made the tier's share look larger)."
	echo
	t_viewers=("${t_nginx[@]}" "${t_warm[@]}" "${t_local[@]}" "${t_off[@]}")
	if [ "$default_local_bytes" -gt 0 ]; then
		t_viewers+=("${t_default[@]}")
	else
		echo "(reelcache-default is reelcache-warm here: the default local tier is off.)"
		echo
	fi
	compare -root "$media" -match 'big*' -scenario viewers -clients "$VIEWERS" -duration "$VIEWER_DUR" -rounds 1 -label "viewers-$VIEWERS" "${t_viewers[@]}"
	echo
	echo "### $VIEWERS2 viewers at 2 Mbit/s each for $VIEWER_DUR: the same bandwidth on four times the connections"
	echo
	compare -root "$media" -match 'big*' -scenario viewers -clients "$VIEWERS2" -bitrate 2000000 -duration "$VIEWER_DUR" -rounds 1 \
		-label "viewers-$VIEWERS2" "${t_nginx[@]}" "${t_warm[@]}" "${t_default[@]}"
	echo
}
hot_video() {
	local c
	for c in 8 64; do
		echo "### A hot video that fits the default local tier ($((hot_bytes >> 20)) MiB, tier ${default_local:-?}): random 1 MiB ranges, $c clients"
		echo
		compare -root "$media" -match 'hot/*' -scenario ranges -clients "$c" -duration "$DUR" -rounds "$ROUNDS" -label "hot-$c" \
			"${t_nginx[@]}" "${t_default[@]}"
		echo
		echo "The same with wrk (\`wrk -t1 -c$c\`, the same random 1 MiB ranges; its TTFB columns are whole-response latency):"
		echo
		compare -generator wrk -root "$media" -match 'hot/*' -scenario ranges -clients "$c" -duration "$DUR" -rounds "$ROUNDS" -label "hot-$c-wrk" \
			"${t_nginx[@]}" "${t_default[@]}"
		echo
	done
}
long_tail() {
	echo "### Cold long tail: $TAIL_FILES files of 0.5-1.5 MiB, each read whole once, 16 clients"
	echo
	echo "reelcache-default-cold starts each round with its Redis database emptied and restarted (empty local tier);"
	echo "reelcache-min-uses-1-cold is the same with \`cache.min_uses: 1\` (every miss cached; the default is 2, a chunk cached on its second miss);"
	echo "nginx-slice-cold: nginx \`proxy_cache\` + \`slice 1m\` in front of an nginx origin, its cache emptied before each round:"
	echo "the fair peer for a cache that is filling."
	echo
	local oport a
	oport=$(free_port)
	launch tail-origin "$oport" "$NGINX" -c "$(nginx_conf tail-origin "$oport" "location / { root $media; sendfile on; tcp_nopush on; }")" \
		-e "$work/log/tail-origin-error.log"
	nginx_slice_on tail-slice "$oport"
	tgt a nginx-slice-cold tail-slice -- "reset=$ctl tail-slice"
	compare -root "$media" -match 'tail/*' -scenario once -clients 16 -duration 60s -rounds "$ROUNDS" -label tail -settle 300ms \
		"${t_nginx[@]}" "${t_tail[@]}" "${t_tail2[@]}" "${a[@]}" "${t_off[@]}"
	echo
}
cold_starts() {
	echo "### Cold start: Redis emptied, 32 clients seeking (2 MiB reads) in the same files, reelcache-warm (async fill)"
	echo
	"$RC" cache purge --yes --media-root "$media" --redis-url "$R/0" --log-level error >/dev/null
	bin/reelbench cold -root "$media" -match '*' -url "$(url_of rc-warm)" -chunk $((1 << 20)) -files 10 -clients 32 -duration "$DUR"
	echo
	echo "### Cold start again, reelcache with a fresh local tier of $LOCAL (async fill)"
	echo
	"$RC" cache purge --yes --media-root "$media" --redis-url "$R/0" --log-level error >/dev/null
	bin/reelbench cold -root "$media" -match '*' -url "$(url_of rc-cold-local)" -chunk $((1 << 20)) -files 10 -clients 32 -duration "$DUR"
	echo
}
{
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, reelcache $(git describe --always --dirty 2>/dev/null)${BENCH_BIN:+ (binary $BENCH_BIN)}, $(go version | cut -d' ' -f3), $("$NGINX" -v 2>&1 | cut -d' ' -f3), redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')."
	echo "Medians of $ROUNDS interleaved rounds of $DUR each (slow storage and remote origin: $SLOW_ROUNDS of $SLOW_DUR); ratios against the first row. Reproduce: \`make bench\`."
	echo "reelcache-warm: every chunk in Redis (\`reelcache warm\`), no local tier; reelcache-warm-unchecked: the same built with the check of cached"
	echo "values off (\`-tags reelcache_nocheck\`, never shipped: what the integrity check costs); reelcache-local: the same Redis plus \`cache.local_bytes: $LOCAL\`,"
	echo "which fills as requests come (a chunk enters on its second request); reelcache-off: no Redis (sendfile); reelcache-default: no settings"
	echo "but the media root and Redis (\`cache.local_bytes\` defaults to ${default_local:-?}); goredis-peer: \`reelbench redispeer\`, one go-redis pipeline"
	echo "per 2 MiB window from the same Redis chunks, the Redis path's ceiling. \"served MB\": bytes served from Redis / the local tier / the origin,"
	echo "from reelcache's /metrics; \"origin read MB\": bytes read from the origin (reelcache's metrics, or the slow storage's or proxy's counter)."
	echo
	want ranges && timed ranges
	want seek && timed seek
	want viewers && timed viewers
	want hot && timed hot_video
	want tail && timed long_tail
	want cold && timed cold_starts
	want slow && timed slow_scenarios
	want remote && timed remote_scenarios
	echo "\`make bench\` (this script) took $(($(date +%s) - started)) s."
	echo
} | tee "$out"

# Replace the generated section of BENCHMARKS.md.
python3 - "$out" <<'PY' 2>/dev/null || { echo "bench: results in $out were not merged into BENCHMARKS.md (python3 missing)" >&2; cp "$out" bench-section.md; }
import sys, re
sec = open(sys.argv[1]).read()
doc = open("BENCHMARKS.md").read()
start, end = "<!-- bench:start -->", "<!-- bench:end -->"
if start in doc:
    doc = re.sub(re.escape(start) + ".*" + re.escape(end), lambda m: start + "\n" + sec + end, doc, flags=re.S)
else:
    doc += "\n## `make bench`: the last run\n\n" + start + "\n" + sec + end + "\n"
open("BENCHMARKS.md", "w").write(doc)
PY
finished=1
echo "bench: wrote BENCHMARKS.md and $json" >&2
