#!/usr/bin/env bash
# `make bench`: reelcache against nginx and plain http.ServeContent on the
# same media, loopback only, bounded (about 5 minutes). Starts its own
# redis-server (maxmemory 2gb, allkeys-lru, no persistence), three reelcache
# instances on it (Redis only; with a local tier of LOCAL bytes; cache off),
# nginx (sendfile on, one worker) and the ServeContent peer; runs each scenario against every server interleaved,
# several rounds, and writes the medians to BENCHMARKS.md (section between
# the markers) and bench-results.jsonl.
#
# Env: ROUNDS (3), DUR (4s), VIEWERS (500), VIEWER_DUR (20s), BIG_FILES (4 x 64 MiB),
# LOCAL (384MiB: the media fits).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-4s}
VIEWERS=${VIEWERS:-500}
VIEWER_DUR=${VIEWER_DUR:-20s}
BIG_FILES=${BIG_FILES:-4}
LOCAL=${LOCAL:-384MiB}

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	else
		echo "bench: missing ${need[*]}: sudo apt-get install -y ${need[*]}" >&2
		exit 1
	fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

go build -o bin/reelcache ./cmd/reelcache
go build -o bin/reelbench ./cmd/reelbench

work=$(mktemp -d)
chmod 755 "$work" # nginx's worker runs as another user
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { # a port nothing listens on
	local p
	for p in $(shuf -i 20000-60000 -n 50); do
		{ (exec 3<>"/dev/tcp/127.0.0.1/$p"); } 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}
wait_port() { for _ in $(seq 100); do { (exec 3<>"/dev/tcp/127.0.0.1/$1"); } 2>/dev/null && return; sleep 0.1; done; echo "bench: nothing on $1" >&2; exit 1; }

media=$work/media
mkdir -p "$media"
cp testdata/media/* "$media/"
for i in $(seq "$BIG_FILES"); do head -c $((64 << 20)) /dev/urandom >"$media/big$i.mp4"; done
chmod -R a+rX "$media"
echo "bench: media $(du -sh "$media" | cut -f1) in $media" >&2

rport=$(free_port)
redis-server --bind 127.0.0.1 --port "$rport" --dir "$work" --save '' --appendonly no \
	--maxmemory 2gb --maxmemory-policy allkeys-lru --logfile "$work/redis.log" &
pids+=($!)
wait_port "$rport"
export REELCACHE_REDIS_URL=redis://127.0.0.1:$rport/0

wport=$(free_port)
bin/reelcache serve --media-root "$media" --listen "127.0.0.1:$wport" --log-level warn >/dev/null 2>"$work/warm.log" &
wpid=$!; pids+=($wpid)
wait_port "$wport"
lport=$(free_port)
bin/reelcache serve --media-root "$media" --listen "127.0.0.1:$lport" --cache-local-bytes "$LOCAL" --log-level warn >/dev/null 2>"$work/local.log" &
lpid=$!; pids+=($lpid)
wait_port "$lport"
# Untouched until the second cold start, so that its local tier is empty then.
cport=$(free_port)
bin/reelcache serve --media-root "$media" --listen "127.0.0.1:$cport" --cache-local-bytes "$LOCAL" --log-level warn >/dev/null 2>"$work/cold-local.log" &
pids+=($!)
wait_port "$cport"
oport=$(free_port)
REELCACHE_REDIS_URL= bin/reelcache serve --media-root "$media" --listen "127.0.0.1:$oport" --log-level warn >/dev/null 2>"$work/off.log" &
opid=$!; pids+=($opid)
wait_port "$oport"
nport=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 100000;
	types { video/mp4 mp4; video/webm webm; }
	server {
		listen 127.0.0.1:$nport;
		location /media/ { alias $media/; }
	}
}
CONF
"$NGINX" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)
wait_port "$nport"
pport=$(free_port)
bin/reelbench plain -root "$media" -listen "127.0.0.1:$pport" >/dev/null &
ppid=$!; pids+=($ppid)
for p in "$wport" "$lport" "$oport" "$nport" "$pport"; do wait_port "$p"; done
sleep 0.5
nworker=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)

bin/reelcache warm --media-root "$media" --log-level warn >&2

t_nginx=(-target "nginx=http://127.0.0.1:$nport@$nworker")
t_plain=(-target "servecontent=http://127.0.0.1:$pport@$ppid")
t_warm=(-target "reelcache-warm=http://127.0.0.1:$wport@$wpid")
t_local=(-target "reelcache-local=http://127.0.0.1:$lport@$lpid")
t_off=(-target "reelcache-off=http://127.0.0.1:$oport@$opid")
targets=("${t_nginx[@]}" "${t_plain[@]}" "${t_warm[@]}" "${t_local[@]}" "${t_off[@]}")
out=$work/section.md
json=bench-results.jsonl
: >"$json"
{
	echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(go version | cut -d' ' -f3), $("$NGINX" -v 2>&1 | cut -d' ' -f3), redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')."
	echo "Medians of $ROUNDS interleaved rounds of $DUR each; ratios against the first row. Reproduce: \`make bench\`."
	echo "reelcache-warm: every chunk in Redis (\`reelcache warm\`); reelcache-local: the same Redis plus \`cache.local_bytes: $LOCAL\`,"
	echo "which fills as requests come (a chunk enters on its second request); reelcache-off: no Redis (sendfile)."
	echo
	for c in 8 64; do
		echo "### Random 1 MiB ranges, $c clients"
		echo
		bin/reelbench compare -root "$media" -scenario ranges -clients "$c" -duration "$DUR" -rounds "$ROUNDS" -json "$json" "${targets[@]}"
		echo
	done
	echo "### Browser-like seeks: bytes=N- at random N, read 2 MiB, close; 32 clients"
	echo
	bin/reelbench compare -root "$media" -scenario seek -clients 32 -duration "$DUR" -rounds "$ROUNDS" -json "$json" "${targets[@]}"
	echo
	echo "### $VIEWERS viewers at 8 Mbit/s each for $VIEWER_DUR (RSS at the end; stalls: a viewer more than 1 s behind)"
	echo
	bin/reelbench compare -root "$media" -scenario viewers -clients "$VIEWERS" -duration "$VIEWER_DUR" -rounds 1 -json "$json" \
		"${t_nginx[@]}" "${t_warm[@]}" "${t_local[@]}" "${t_off[@]}"
	echo
	echo "### Cold start: Redis emptied, 32 clients seeking (2 MiB reads) in the same files, reelcache (async fill)"
	echo
	bin/reelcache cache purge --yes --media-root "$media" --log-level error >/dev/null
	bin/reelbench cold -root "$media" -url "http://127.0.0.1:$wport" -chunk $((1 << 20)) -files 10 -clients 32 -duration "$DUR"
	echo
	echo "### Cold start again, reelcache with a fresh local tier of $LOCAL (async fill)"
	echo
	bin/reelcache cache purge --yes --media-root "$media" --log-level error >/dev/null
	bin/reelbench cold -root "$media" -url "http://127.0.0.1:$cport" -chunk $((1 << 20)) -files 10 -clients 32 -duration "$DUR"
	echo
} | tee "$out"

# Replace the generated section of BENCHMARKS.md.
python3 - "$out" <<'PY' 2>/dev/null || { echo "bench: results in $out were not merged into BENCHMARKS.md (python3 missing)" >&2; cp "$out" bench-section.md; }
import sys, re
sec = open(sys.argv[1]).read()
doc = open("BENCHMARKS.md").read()
start, end = "<!-- bench:start -->", "<!-- bench:end -->"
if start in doc:
    doc = re.sub(re.escape(start) + ".*" + re.escape(end), start + "\n" + sec + end, doc, flags=re.S)
else:
    doc += "\n## `make bench`: against nginx and http.ServeContent\n\n" + start + "\n" + sec + end + "\n"
open("BENCHMARKS.md", "w").write(doc)
PY
echo "bench: wrote BENCHMARKS.md and $json" >&2
