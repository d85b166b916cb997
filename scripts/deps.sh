#!/usr/bin/env bash
# Installs what reelcache's tests and `make run` need, when it is missing:
# redis-server (the cache the tests start), curl and ffmpeg (real clients),
# chromium (the browser tests), nginx (an HTTP origin), versitygw (an S3
# origin; `go install` into $(go env GOPATH)/bin, where the tests look),
# prlimit (the out-of-descriptors test), fusermount3 (the benchmark's slow
# FUSE storage, cmd/reelbench). As root it uses apt-get; otherwise it says
# what to install. Under CI=true a missing tool is an error; elsewhere the
# tests that need it skip with a message.
#
# Usage: scripts/deps.sh [program ...]   (default: all of them)
set -euo pipefail

declare -A pkg=(
	[redis-server]=redis-server
	[redis-cli]=redis-tools
	[curl]=curl
	[ffmpeg]=ffmpeg
	[ffprobe]=ffmpeg
	[chromium]=chromium
	[nginx]=nginx-light
	[prlimit]=util-linux
	[fusermount3]=fuse3
)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(redis-server redis-cli curl ffmpeg ffprobe chromium nginx prlimit versitygw fusermount3 hls.js)

# versitygw, the S3 server of the tests, is a Go program: go install it.
VERSITYGW=github.com/versity/versitygw/cmd/versitygw@v1.8.0
status=0
for i in "${!want[@]}"; do
	[ "${want[$i]}" = versitygw ] || continue
	unset 'want[i]'
	gobin=$(go env GOBIN)
	[ -n "$gobin" ] || gobin=$(go env GOPATH)/bin
	if command -v versitygw >/dev/null 2>&1 || [ -x "$gobin/versitygw" ]; then
		continue
	fi
	echo "deps: installing versitygw into $gobin (go install $VERSITYGW, a few minutes)" >&2
	if ! go install "$VERSITYGW"; then
		msg="deps: could not install versitygw: run go install $VERSITYGW"
		if [ "${CI:-}" = true ]; then
			echo "$msg" >&2
			status=1
		else
			echo "$msg (the S3 tests will skip)" >&2
		fi
	fi
done
want=("${want[@]}")

# --- hls.js (packager's browser test; issue 22) ---------------------------
# The HLS player the packager's Chromium test plays with: a pinned npm
# package installed into a cache directory, never copied into the
# repository. The test finds it at $HLSJS_DIR/node_modules/hls.js/dist/
# (REELCACHE_HLSJS_DIR overrides the directory).
HLSJS_VERSION=1.6.13
HLSJS_DIR=${REELCACHE_HLSJS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reelcache/hls.js@$HLSJS_VERSION}
for i in "${!want[@]}"; do
	[ "${want[$i]}" = hls.js ] || continue
	unset 'want[i]'
	[ -f "$HLSJS_DIR/node_modules/hls.js/dist/hls.min.js" ] && continue
	if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing npm" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
	echo "deps: installing hls.js@$HLSJS_VERSION into $HLSJS_DIR" >&2
	mkdir -p "$HLSJS_DIR"
	if ! npm install --silent --no-audit --no-fund --prefix "$HLSJS_DIR" "hls.js@$HLSJS_VERSION" >&2; then
		msg="deps: could not install hls.js@$HLSJS_VERSION with npm"
		if [ "${CI:-}" = true ]; then
			echo "$msg" >&2
			status=1
		else
			echo "$msg (the hls.js browser test will skip)" >&2
		fi
	fi
done
# --- end of hls.js ----------------------------------------------------------
want=("${want[@]}")

missing=()
for p in "${want[@]}"; do
	command -v "$p" >/dev/null 2>&1 || { [ "$p" = nginx ] && [ -x /usr/sbin/nginx ]; } || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit $status

pkgs=$(for p in "${missing[@]}"; do echo "${pkg[$p]:-$p}"; done | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing $pkgs" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	exit $status
fi

msg="deps: missing ${missing[*]}; install them with: sudo apt-get install -y $pkgs"
if [ "${CI:-}" = true ]; then
	echo "$msg" >&2
	exit 1
fi
echo "$msg (tests that need them will skip)" >&2
exit $status
