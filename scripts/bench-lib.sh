# shellcheck shell=bash
# Helpers of `make bench` (scripts/bench.sh and scripts/bench-ctl.sh):
# ports, and a registry of the servers it starts, so that a cold row can
# restart one with an empty cache before each round and the end of the
# run can stop them all. Sourced, with $work set to the run's directory.
#
# Registry, per server NAME, in $work/run/:
#   NAME.cmd    the command line (bash-quoted), run again by relaunch
#   NAME.port   the port it listens on
#   NAME.pid    the process to stop
#   NAME.stat   the process whose RSS and CPU the benchmark reports (nginx: the worker)
#   NAME.clean  optional shell command run between stop and start (empty its cache)

free_port() { # a port nothing listens on, below the ephemeral range (32768-) that clients' sockets take
	local p
	for p in $(shuf -i 10000-32000 -n 50); do
		{ (exec 3<>"/dev/tcp/127.0.0.1/$p"); } 2>/dev/null || { echo "$p"; return; }
	done
	return 1
}

wait_port() { # PORT [PID]: until something listens on PORT (and PID still runs)
	for _ in $(seq 150); do
		{ (exec 3<>"/dev/tcp/127.0.0.1/$1"); } 2>/dev/null && return
		if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
			echo "bench: the server for port $1 exited" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "bench: nothing on port $1" >&2
	return 1
}

# launch NAME PORT CMD...: start CMD in the background, its output in
# $work/log/NAME.log, and wait until it listens on PORT.
launch() {
	local name=$1 port=$2
	shift 2
	mkdir -p "$work/run" "$work/log"
	printf '%q ' "$@" >"$work/run/$name.cmd"
	echo "$port" >"$work/run/$name.port"
	start_registered "$name"
}

start_registered() { # NAME: start what launch recorded
	local name=$1 port pid
	port=$(cat "$work/run/$name.port")
	eval "exec $(cat "$work/run/$name.cmd")" >>"$work/log/$name.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$work/run/$name.pid"
	echo "$pid" >"$work/run/$name.stat"
	if ! wait_port "$port" "$pid"; then
		tail -5 "$work/log/$name.log" >&2
		return 1
	fi
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ]; then
		local w
		for _ in $(seq 50); do
			w=$(pgrep -P "$pid" -f 'worker process' | head -1 || true)
			[ -n "$w" ] && break
			sleep 0.05
		done
		echo "${w:-$pid}" >"$work/run/$name.stat"
	fi
}

stop_registered() { # NAME: stop it and wait until it is gone
	local name=$1 pid
	pid=$(cat "$work/run/$name.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null || true
}

# relaunch NAME...: stop them all, run their clean commands, start them
# again: cold, with empty caches.
relaunch() {
	local name
	for name in "$@"; do stop_registered "$name"; done
	for name in "$@"; do
		if [ -s "$work/run/$name.clean" ]; then
			bash -c "$(cat "$work/run/$name.clean")" || return 1
		fi
	done
	for name in "$@"; do start_registered "$name" || return 1; done
}

stop_all() { # every registered server
	local f
	for f in "$work"/run/*.pid; do
		[ -e "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
	done
	sleep 0.3
	for f in "$work"/run/*.pid; do
		[ -e "$f" ] || continue
		kill -9 "$(cat "$f")" 2>/dev/null || true
	done
}

url_of() { echo "http://127.0.0.1:$(cat "$work/run/$1.port")"; }

# tgt VAR LABEL NAME... [-- OPTION...]: set the array VAR to a reelbench
# compare -target for the registered servers NAME... (taken in turn),
# their RSS and CPU read from the registry each round; OPTIONs (origin=URL,
# reset=COMMAND) are appended.
tgt() {
	local -n _t=$1
	local label=$2 urls="" pids="" opts=""
	shift 2
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			shift
			local IFS=';'
			opts=";$*"
			break
		fi
		urls+="${urls:+,}$(url_of "$1")"
		pids+="${pids:+,}@$work/run/$1.stat"
		shift
	done
	_t=(-target "$label=$urls;pid=$pids$opts")
}

# nginx_conf NAME PORT LOCATION-BODY [HTTP-EXTRA]: write $work/ngx/NAME.conf,
# one worker serving /media/ with the given location body.
nginx_conf() {
	local name=$1 port=$2 body=$3 extra=${4:-}
	mkdir -p "$work/ngx"
	cat >"$work/ngx/$name.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/ngx/$name.pid;
error_log $work/log/$name-error.log warn;
events { worker_connections 4096; }
thread_pool default threads=32 max_queue=65536;
http {
	access_log off;
	log_not_found off;
	keepalive_requests 100000;
	types { video/mp4 mp4; video/webm webm; }
	$extra
	server {
		listen 127.0.0.1:$port;
		$body
	}
}
CONF
	echo "$work/ngx/$name.conf"
}

# nginx_slice NAME PORT UPSTREAM-HOST:PORT: nginx proxy_cache + slice 1m in
# front of an HTTP origin (a /media/x request asks the origin for /x, over
# kept-alive connections), its cache on local disk in $work/cache/NAME,
# emptied by relaunch NAME.
nginx_slice() {
	local name=$1 port=$2 up=$3 cache=$work/cache/$1
	mkdir -p "$cache"
	echo "rm -rf '$cache' && mkdir -p '$cache'" >"$work/run/$name.clean"
	nginx_conf "$name" "$port" "location /media/ {
			slice 1m;
			proxy_cache $name;
			proxy_cache_key \$uri\$slice_range;
			proxy_set_header Range \$slice_range;
			proxy_cache_valid 200 206 1h;
			proxy_cache_lock on;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
			proxy_pass http://origin/;
		}" "proxy_cache_path $cache levels=1:2 keys_zone=$name:16m max_size=4g inactive=1h use_temp_path=off;
	upstream origin { server $up; keepalive 64; }"
}
