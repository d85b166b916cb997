#!/usr/bin/env bash
# Installs what reelcache's tests and `make run` need, when it is missing:
# redis-server (the cache the tests start), curl and ffmpeg (real clients),
# chromium (the browser tests), nginx (an HTTP origin), versitygw (an S3
# origin; `go install` into $(go env GOPATH)/bin, where the tests look),
# prlimit (the out-of-descriptors test), fusermount3 (the benchmark's slow
# FUSE storage, cmd/reelbench), wrk (the benchmark's second load
# generator), pebble and pebble-challtestsrv (the ACME test CA; go install,
# like versitygw), certutil (puts a test CA in the NSS database Chromium
# trusts, for the HTTPS browser test), the hls.js and dash.js players (npm,
# into a cache directory). As root it uses apt-get; otherwise it says
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
	[wrk]=wrk
	[certutil]=libnss3-tools
)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(redis-server redis-cli curl ffmpeg ffprobe chromium nginx prlimit versitygw fusermount3 wrk pebble certutil players)

# The Go programs among the tests' servers: versitygw (the S3 server) and
# pebble with pebble-challtestsrv (the ACME test CA and its DNS/challenge
# server, for cmd/reelcache/acme*_test.go). go install puts them into
# $(go env GOPATH)/bin, where the tests look.
VERSITYGW=github.com/versity/versitygw/cmd/versitygw@v1.8.0
PEBBLE_VERSION=v2.10.3
status=0

# not_installed MSG SKIPPED: says MSG; under CI=true that fails the run
# (status 1), elsewhere it adds that SKIPPED (e.g. "the S3 tests") will skip.
not_installed() {
	if [ "${CI:-}" = true ]; then
		echo "$1" >&2
		status=1
	else
		echo "$1 ($2 will skip)" >&2
	fi
}

# go_tool NAME PACKAGE@VERSION WHICH: go install NAME unless it is on the
# PATH or in the Go bin directory; a failure fails CI, elsewhere WHICH
# tests skip.
go_tool() {
	local name=$1 pkg=$2 which=$3 gobin
	gobin=$(go env GOBIN)
	[ -n "$gobin" ] || gobin=$(go env GOPATH)/bin
	if command -v "$name" >/dev/null 2>&1 || [ -x "$gobin/$name" ]; then
		return 0
	fi
	echo "deps: installing $name into $gobin (go install $pkg, a few minutes)" >&2
	if ! (cd "${TMPDIR:-/tmp}" && GOFLAGS= go install "$pkg"); then
		not_installed "deps: could not install $name: run go install $pkg" "the $which tests"
	fi
}

for i in "${!want[@]}"; do
	case ${want[$i]} in
	versitygw)
		unset 'want[i]'
		go_tool versitygw "$VERSITYGW" S3
		;;
	pebble)
		unset 'want[i]'
		for tool in pebble pebble-challtestsrv; do
			go_tool "$tool" "github.com/letsencrypt/pebble/v2/cmd/$tool@$PEBBLE_VERSION" ACME
		done
		;;
	esac
done
want=("${want[@]}")
# --- players: hls.js and dash.js (packager's browser tests; issue 22) -------
# The HLS and DASH players the packager's Chromium tests play with: pinned
# npm packages installed into a cache directory, never copied into the
# repository. The tests find them under $PLAYERS_DIR/node_modules/
# (REELCACHE_PLAYERS_DIR overrides the directory).
PLAYERS=(hls.js@1.6.13 dashjs@4.7.4)
PLAYERS_DIR=${REELCACHE_PLAYERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/reelcache/players}
for i in "${!want[@]}"; do
	[ "${want[$i]}" = players ] || continue
	unset 'want[i]'
	missing_players=()
	for p in "${PLAYERS[@]}"; do
		name=${p%@*} version=${p##*@}
		grep -qs "\"version\": \"$version\"" "$PLAYERS_DIR/node_modules/$name/package.json" || missing_players+=("$p")
	done
	[ ${#missing_players[@]} -eq 0 ] && continue
	if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing npm" >&2
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
	fi
	echo "deps: installing ${missing_players[*]} into $PLAYERS_DIR" >&2
	mkdir -p "$PLAYERS_DIR"
	if ! npm install --silent --no-audit --no-fund --prefix "$PLAYERS_DIR" "${PLAYERS[@]}" >&2; then
		not_installed "deps: could not install ${PLAYERS[*]} with npm" "the packager's browser tests"
	fi
done
# --- end of players ----------------------------------------------------------
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

not_installed "deps: missing ${missing[*]}; install them with: sudo apt-get install -y $pkgs" "tests that need them"
exit $status
