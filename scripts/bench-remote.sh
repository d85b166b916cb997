# shellcheck shell=bash
# The slow-remote-origin scenario of `make bench` (issue 14), sourced by
# scripts/bench.sh (which sets $work, $media, $R, $ctl and the helpers of
# bench-lib.sh).
#
# An nginx serves the media as an HTTP origin; each peer reaches it through
# its own `reelbench slowproxy` (REMOTE_LATENCY a request, REMOTE_RATE
# shared by its responses, body bytes counted): nginx proxy_cache + slice
# 1m warm and cold, and reelcache (media.origin) warm and cold when the
# binary has --media-origin.

remote_scenarios() {
	echo "### Slow remote origin: seeks (bytes=N-, read 2 MiB), 16 clients, through a proxy adding $REMOTE_LATENCY a request and capped at $REMOTE_RATE"
	echo
	local oport p n
	oport=$(free_port)
	launch ngx-origin "$oport" "$NGINX" -c "$(nginx_conf ngx-origin "$oport" "location / { root $media; sendfile on; tcp_nopush on; }")" \
		-e "$work/log/ngx-origin-error.log"
	for n in slice-warm slice-cold rc-warm rc-cold; do
		p=$(free_port)
		launch "px-$n" "$p" bin/reelbench slowproxy -upstream "http://127.0.0.1:$oport/" -listen "127.0.0.1:$p" \
			-latency "$REMOTE_LATENCY" -rate "$REMOTE_RATE"
	done
	nginx_slice_on rm-slice-warm "$(cat "$work/run/px-slice-warm.port")"
	nginx_slice_on rm-slice-cold "$(cat "$work/run/px-slice-cold.port")"
	bin/reelbench run -root "$media" -match '*' -scenario once -clients 4 -duration 120s -url "$(url_of rm-slice-warm)" >&2
	local a b c d rows=()
	tgt a nginx-slice-warm rm-slice-warm -- "origin=$(url_of px-slice-warm)/.reelbench/metrics"
	tgt b nginx-slice-cold rm-slice-cold -- "origin=$(url_of px-slice-cold)/.reelbench/metrics" "reset=$ctl rm-slice-cold"
	rows=("${a[@]}" "${b[@]}")
	local note="reelcache rows: waiting for \`media.origin\` (this reelcache has no --media-origin flag yet; issue 14)."
	if "$RC" serve --help 2>/dev/null | grep -q -- '--media-origin'; then
		note="reelcache: \`media.origin: http://127.0.0.1:PORT/\` through its own proxy, default configuration otherwise."
		MEDIA_ROOT=none serve rm-rc-warm 5 --media-origin "$(url_of px-rc-warm)/"
		MEDIA_ROOT=none serve rm-rc-cold 6 --media-origin "$(url_of px-rc-cold)/"
		flushdb 6 >"$work/run/rm-rc-cold.clean"
		# shellcheck disable=SC2086
		"$RC" warm --media-origin "$(url_of px-rc-warm)/" --redis-url "$R/5" --log-level warn $top >&2 ||
			bin/reelbench run -root "$media" -match '*' -scenario once -clients 4 -duration 120s -url "$(url_of rm-rc-warm)" >&2
		tgt c reelcache-warm rm-rc-warm -- "origin=$(url_of px-rc-warm)/.reelbench/metrics"
		tgt d reelcache-cold rm-rc-cold -- "origin=$(url_of px-rc-cold)/.reelbench/metrics" "reset=$ctl rm-rc-cold"
		rows+=("${c[@]}" "${d[@]}")
	fi
	echo "nginx-slice: \`proxy_cache\` + \`slice 1m\` (cache on local disk, \`proxy_cache_lock on\`), warm (every file read through it first) and"
	echo "cold (restarted with its cache emptied before each round). $note Origin bytes: each peer's proxy's count."
	echo
	compare -root "$media" -match '*' -scenario seek -clients 16 -duration "$SLOW_DUR" -rounds "$SLOW_ROUNDS" \
		-settle 300ms -distinct -label remote-seek-16 "${rows[@]}"
	echo
}
