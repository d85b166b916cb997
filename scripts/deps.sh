#!/usr/bin/env bash
# Installs what reelcache's tests and `make run` need, when it is missing:
# redis-server (the cache the tests start), curl and ffmpeg (real clients),
# chromium (the browser tests), prlimit (the out-of-descriptors test). As root it uses apt-get; otherwise it says
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
	[prlimit]=util-linux
)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(redis-server redis-cli curl ffmpeg ffprobe chromium prlimit)

missing=()
for p in "${want[@]}"; do
	command -v "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(for p in "${missing[@]}"; do echo "${pkg[$p]:-$p}"; done | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing $pkgs" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
	exit 0
fi

msg="deps: missing ${missing[*]}; install them with: sudo apt-get install -y $pkgs"
if [ "${CI:-}" = true ]; then
	echo "$msg" >&2
	exit 1
fi
echo "$msg (tests that need them will skip)" >&2
