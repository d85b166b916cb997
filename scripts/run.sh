#!/usr/bin/env bash
# `make run`: builds reelcache and serves testdata/media (or $MEDIA_ROOT) on
# $LISTEN (default 127.0.0.1:8080), with a Redis cache when one can be had:
#   1. the Redis at $REELCACHE_REDIS_URL (default redis://127.0.0.1:6379/0)
#      if it answers;
#   2. else a private redis-server on a free port (installed first when
#      missing and run as root), stopped when reelcache stops;
#   3. else none: reelcache serves from disk and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

go build -o bin/reelcache ./cmd/reelcache

media=${MEDIA_ROOT:-testdata/media}
listen=${LISTEN:-127.0.0.1:8080}
url=${REELCACHE_REDIS_URL-redis://127.0.0.1:6379/0}

# answers HOST PORT: does a Redis answer PING there?
answers() {
	local reply
	{ exec 3<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 1 reply <&3 || true
	exec 3<&- 3>&-
	[[ $reply == +PONG* ]]
}

hostport=${url#*://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
host=${hostport%:*}
port=${hostport##*:}
[ "$port" = "$hostport" ] && port=6379

redis_pid=
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "$url" ]; then
	echo "run: cache off (REELCACHE_REDIS_URL is empty)" >&2
elif answers "$host" "$port"; then
	echo "run: using the Redis at $host:$port" >&2
else
	scripts/deps.sh redis-server 2>/dev/null || true
	if command -v redis-server >/dev/null 2>&1; then
		for free in $(seq 6380 6480); do
			{ (exec 3<>"/dev/tcp/127.0.0.1/$free"); } 2>/dev/null || break
		done
		dir=$(mktemp -d)
		redis-server --bind 127.0.0.1 --port "$free" --dir "$dir" --save '' --appendonly no \
			--maxmemory 256mb --maxmemory-policy allkeys-lru --logfile "$dir/redis.log" &
		redis_pid=$!
		for _ in $(seq 50); do answers 127.0.0.1 "$free" && break; sleep 0.1; done
		url=redis://127.0.0.1:$free/0
		echo "run: no Redis at $host:$port; started redis-server on 127.0.0.1:$free (pid $redis_pid)" >&2
	else
		echo "run: no Redis at $host:$port and redis-server is not installed: serving from disk" >&2
		echo "run: (install it with: sudo apt-get install -y redis-server)" >&2
	fi
fi

bin/reelcache serve --media-root "$media" --listen "$listen" --redis-url "$url" "$@" &
server=$!
trap 'kill -INT $server 2>/dev/null; wait $server; cleanup' INT TERM
wait $server
