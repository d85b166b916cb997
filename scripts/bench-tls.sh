#!/usr/bin/env bash
# HTTPS benchmark (issue 24): reelcache serving a hot video over TLS 1.3
# (ECDSA P-256 certificate, TLS_AES_128_GCM_SHA256) against nginx with
# `ssl` on the same file, the same certificate and the same cipher suite.
# wrk downloads the whole file over and over at 8 and 64 connections
# (HTTP/1.1 over TLS: wrk speaks no h2); the servers run interleaved
# (reelcache, nginx, reelcache, nginx ...) for ROUNDS rounds of DUR each.
# Reports, per client count, the median throughput of each, its ratio to
# nginx, and each server's CPU seconds per GB served (utime+stime of the
# server's processes from /proc, divided by the bytes wrk read). Bounded:
# about 2 minutes with the defaults. Loopback only; everything it starts is
# stopped at exit.
#
# Env: ROUNDS (3), DUR (5s), SIZE_MB (32: the hot video), KEEP=1 keeps the
# work directory, BENCH_BIN measures that reelcache binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-5s}
SIZE_MB=${SIZE_MB:-32}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for p in redis-server wrk openssl curl "$NGINX"; do
	command -v "$p" >/dev/null || { echo "bench-tls: $p is missing (scripts/deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/reelcache-bench-tls.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-}" = 1 ] && echo "bench-tls: work directory kept: $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

RC=${BENCH_BIN:-$work/reelcache}
[ -n "${BENCH_BIN:-}" ] || go build -o "$RC" ./cmd/reelcache

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "bench-tls: nothing on port $1" >&2; return 1; }
# cpu_ticks PID...: utime+stime of the processes, in clock ticks.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)

mkdir -p "$work/media" "$work/ngx" "$work/redis" "$work/local"
head -c $((SIZE_MB << 20)) /dev/urandom >"$work/media/hot.mp4"
chmod 755 "$work" "$work/media" && chmod 644 "$work/media/hot.mp4" # nginx's workers run as another user
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" \
	--maxmemory 1gb --maxmemory-policy allkeys-lru >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$rport"

# reelcache as configured by default but for TLS, the media and Redis; its
# local tier holds the hot video (the default 64MiB does).
rcport=$(free_port)
"$RC" serve --listen "127.0.0.1:$rcport" --media-root "$work/media" --redis-url "redis://127.0.0.1:$rport/0" \
	--cache-local-dir "$work/local" --http-tls-cert-file "$work/cert.pem" --http-tls-key-file "$work/key.pem" \
	>"$work/reelcache.out" 2>"$work/reelcache.log" &
rcpid=$!
pids+=($rcpid)
wait_port "$rcport"

# nginx: one worker per core (TLS is CPU-bound), sendfile on (it cannot be
# used under user-space TLS; see the kernel TLS note below), TLS 1.3 only
# with AES-128-GCM, the same certificate.
ngport=$(free_port)
cat >"$work/ngx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/ngx/nginx.pid;
error_log $work/ngx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000;
	sendfile on;
	# Under TLS nginx reads the file through these buffers: larger than
	# the default 2 32k, so that nginx is not held back by reads.
	output_buffers 4 256k;
	types { video/mp4 mp4; }
	server {
		listen 127.0.0.1:$ngport ssl;
		ssl_certificate $work/cert.pem;
		ssl_certificate_key $work/key.pem;
		ssl_protocols TLSv1.3;
		ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
		ssl_session_cache shared:SSL:10m;
		location /media/ { alias $work/media/; }
	}
}
CONF
"$NGINX" -c "$work/ngx/nginx.conf" -e "$work/ngx/error.log" >"$work/ngx/out.log" 2>&1 &
ngpid=$!
pids+=($ngpid)
wait_port "$ngport"
ngworkers() { pgrep -P "$ngpid" | tr '\n' ' '; }

rc_url="https://127.0.0.1:$rcport/media/hot.mp4"
ng_url="https://127.0.0.1:$ngport/media/hot.mp4"
# What each negotiates, and that both serve the file's bytes; two reads
# make the video hot in reelcache (Redis, then the local tier).
for u in "$rc_url" "$ng_url"; do
	hp=${u#https://}
	hp=${hp%%/*}
	neg=$(echo | openssl s_client -connect "$hp" -tls1_3 2>/dev/null | grep -E '^New, |^Peer signature type|^Server Temp Key' | tr '\n' ' ' || true)
	echo "bench-tls: $hp: $neg"
	for _ in 1 2 3; do
		curl -sS --cacert "$work/cert.pem" "$u" | cmp -s - "$work/media/hot.mp4" || { echo "bench-tls: $u: wrong bytes" >&2; exit 1; }
	done
done
sleep 1
if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
	ktls="the kernel has TLS (ULP tls): nginx could use ssl_conf_command Options KTLS (not enabled here)"
else
	ktls="no kernel TLS here (/proc/sys/net/ipv4/tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null)): nginx cannot use kTLS or sendfile under TLS"
fi
echo "bench-tls: $ktls"

# run NAME URL CONNS PIDS...: one wrk run; prints "bytes_per_s cpu_s_per_gb".
run() {
	local name=$1 url=$2 conns=$3
	shift 3
	local t0 t1 out bytes secs
	t0=$(cpu_ticks "$@")
	out=$(wrk -t2 -c"$conns" -d"$DUR" --latency "$url" 2>&1)
	t1=$(cpu_ticks "$@")
	echo "$out" >>"$work/wrk-$name-$conns.log"
	read -r bytes secs < <(echo "$out" | awk '
		/requests in/ { sub(/s,$/, "", $4); secs = $4; v = $5; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
			m = 1; if (u == "KB") m = 1024; if (u == "MB") m = 1048576; if (u == "GB") m = 1073741824; if (u == "TB") m = 1099511627776
			printf "%.0f %s\n", v * m, secs }')
	awk -v b="$bytes" -v s="$secs" -v dt=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.0f %.3f\n", b / s, (dt / hz) / (b / 1e9) }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A tput cpu
for conns in 8 64; do
	for r in $(seq "$ROUNDS"); do
		read -r b c < <(run reelcache "$rc_url" "$conns" "$rcpid")
		tput[rc,$conns]+="$b "; cpu[rc,$conns]+="$c "
		# shellcheck disable=SC2046
		read -r b c < <(run nginx "$ng_url" "$conns" "$ngpid" $(ngworkers))
		tput[ng,$conns]+="$b "; cpu[ng,$conns]+="$c "
		echo "bench-tls: round $r, $conns connections done" >&2
	done
done

rcsrc=$(curl -sS --cacert "$work/cert.pem" "https://127.0.0.1:$rcport/metrics" | grep '^reelcache_served_bytes_total' | tr '\n' ' ')
echo
echo "HTTPS hot video (${SIZE_MB} MiB, TLS 1.3 ECDSA P-256 AES-128-GCM, wrk HTTP/1.1, $ROUNDS x $DUR interleaved, medians)"
echo "| clients | reelcache MB/s | nginx ssl MB/s | ratio | reelcache CPU s/GB | nginx CPU s/GB |"
echo "|---|---|---|---|---|---|"
for conns in 8 64; do
	rt=$(echo "${tput[rc,$conns]}" | tr ' ' '\n' | grep . | median)
	nt=$(echo "${tput[ng,$conns]}" | tr ' ' '\n' | grep . | median)
	rcpu=$(echo "${cpu[rc,$conns]}" | tr ' ' '\n' | grep . | median)
	ncpu=$(echo "${cpu[ng,$conns]}" | tr ' ' '\n' | grep . | median)
	awk -v c="$conns" -v rt="$rt" -v nt="$nt" -v rc="$rcpu" -v nc="$ncpu" \
		'BEGIN { printf "| %d | %.0f | %.0f | %.2fx | %.2f | %.2f |\n", c, rt / 1048576, nt / 1048576, rt / nt, rc, nc }'
done
echo
echo "reelcache bytes by source: $rcsrc"
echo "$ktls"
