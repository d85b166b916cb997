# shellcheck shell=bash
# The slow-storage scenarios of `make bench`, sourced by scripts/bench.sh
# (which sets $work, $media, $R, $ctl and the helpers of bench-lib.sh).
#
# The media is mounted through `reelbench slowfs` (FUSE, direct I/O: every
# read pays SLOW_LATENCY and all reads share SLOW_RATE), and read by:
# nginx directly (aio threads, 1 MiB output buffers), nginx proxy_cache +
# slice 1m (its cache on local disk) in front of that nginx, warm and cold,
# and reelcache warm and cold; then by three reelcache instances on one
# Redis against three nginx slice caches, clients taking them in turn.

slow_unmount() {
	if mountpoint -q "$work/slow" 2>/dev/null; then
		fusermount3 -u -z "$work/slow" 2>/dev/null || umount -l "$work/slow" 2>/dev/null || true
	fi
}

# slow_mount: mount $media on $work/slow through slowfs; on failure print
# why and return 1.
slow_mount() {
	[ -e /dev/fuse ] || { echo "no /dev/fuse"; return 1; }
	command -v fusermount3 >/dev/null || { echo "no fusermount3: apt-get install fuse3"; return 1; }
	mkdir -p "$work/slow"
	local port
	port=$(free_port)
	launch slowfs "$port" bin/reelbench slowfs -src "$media" -mnt "$work/slow" \
		-latency "$SLOW_LATENCY" -rate "$SLOW_RATE" -stats "127.0.0.1:$port" 2>&1 || {
		tail -3 "$work/log/slowfs.log"
		return 1
	}
	mountpoint -q "$work/slow" || { echo "slowfs runs but $work/slow is not mounted"; return 1; }
}

# nginx_slice_on NAME ORIGIN-PORT: start an nginx slice cache in front of
# the origin on 127.0.0.1:ORIGIN-PORT.
nginx_slice_on() {
	local name=$1 port conf
	port=$(free_port)
	conf=$(nginx_slice "$name" "$port" "127.0.0.1:$2")
	launch "$name" "$port" "$NGINX" -c "$conf" -e "$work/log/$name-error.log"
}

slow_scenarios() {
	local why
	echo "### Slow storage: seeks (bytes=N-, read 2 MiB), 16 clients, on a FUSE mount adding $SLOW_LATENCY a read and capped at $SLOW_RATE"
	echo
	if ! why=$(slow_mount); then
		echo "Skipped: the slow storage needs FUSE, which is not available here ($why)."
		echo
		return 0
	fi
	local slow=$work/slow fsm oport
	fsm=$(url_of slowfs)/metrics
	oport=$(free_port)
	launch ngx-slow "$oport" "$NGINX" -c "$(nginx_conf ngx-slow "$oport" "
		sendfile off; aio threads; output_buffers 2 1m;
		location /media/ { alias $slow/; }
		location / { root $slow; }")" -e "$work/log/ngx-slow-error.log"
	nginx_slice_on ngx-slice-warm "$oport"
	nginx_slice_on ngx-slice-cold "$oport"
	MEDIA_ROOT=$slow serve rc-slow-warm 2
	MEDIA_ROOT=$slow serve rc-slow-cold 3
	flushdb 3 >"$work/run/rc-slow-cold.clean"
	# Warm: nginx's slice cache by reading every file through it, reelcache's
	# Redis by `reelcache warm`; both read the slow storage.
	bin/reelbench run -root "$media" -match '*' -scenario once -clients 4 -duration 120s -url "$(url_of ngx-slice-warm)" >&2
	# shellcheck disable=SC2086
	"$RC" warm --media-root "$slow" --redis-url "$R/2" --log-level warn $top >&2

	echo "nginx-aio: nginx on the mount (\`sendfile off; aio threads; output_buffers 2 1m\`); nginx-slice: \`proxy_cache\` + \`slice 1m\` (cache on local disk,"
	echo "\`proxy_cache_lock on\`) in front of nginx-aio; cold rows start each round with an empty cache (nginx restarted with its cache"
	echo "directory emptied; reelcache restarted with its Redis database emptied). Origin bytes: the FUSE mount's counter for nginx,"
	echo "reelcache's own metrics for reelcache; distinct: the chunk (slice) bytes the clients touched."
	echo
	local a b c d e
	tgt a nginx-aio ngx-slow -- "origin=$fsm"
	tgt b nginx-slice-warm ngx-slice-warm -- "origin=$fsm"
	tgt c nginx-slice-cold ngx-slice-cold -- "origin=$fsm" "reset=$ctl ngx-slice-cold"
	tgt d reelcache-warm rc-slow-warm
	tgt e reelcache-cold rc-slow-cold -- "reset=$ctl rc-slow-cold"
	compare -root "$media" -match '*' -scenario seek -clients 16 -duration "$SLOW_DUR" -rounds "$SLOW_ROUNDS" \
		-settle 300ms -distinct -label slow-seek-16 "${a[@]}" "${b[@]}" "${c[@]}" "${d[@]}" "${e[@]}"
	echo

	echo "### Three instances, one library, on the slow storage: seeks (bytes=N-, read 2 MiB) in one 64 MiB video, 16 clients taking the instances in turn, cold"
	echo
	echo "Three reelcache instances (default configuration) on one Redis against three nginx slice caches (each its own cache directory)"
	echo "in front of nginx-aio; every round starts with all caches empty. One video, so that its chunks are asked for through every"
	echo "instance within a round (the case a shared cache is for); distinct: its chunk bytes the clients touched."
	echo
	local i
	for i in 1 2 3; do
		MEDIA_ROOT=$slow serve "tri-rc$i" 4
		nginx_slice_on "tri-ngx$i" "$oport"
	done
	flushdb 4 >"$work/run/tri-rc1.clean"
	tgt a nginx-slice-x3 tri-ngx1 tri-ngx2 tri-ngx3 -- "origin=$fsm" "reset=$ctl tri-ngx1 tri-ngx2 tri-ngx3"
	tgt b reelcache-x3 tri-rc1 tri-rc2 tri-rc3 -- "reset=$ctl tri-rc1 tri-rc2 tri-rc3"
	compare -root "$media" -match 'big1.mp4' -scenario seek -clients 16 -duration "$SLOW_DUR" -rounds "$SLOW_ROUNDS" \
		-settle 500ms -distinct -label three-instances "${a[@]}" "${b[@]}"
	echo
	for i in 2 3 4; do eval "$(flushdb $i)"; done # room in Redis for what follows
}
