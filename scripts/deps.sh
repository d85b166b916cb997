#!/usr/bin/env bash
# Installs what reelcache's tests and `make run` need, when it is missing:
# redis-server (the cache the tests start), curl and ffmpeg (real clients),
# chromium (the browser tests), nginx (an HTTP origin), versitygw (an S3
# origin; `go install` into $(go env GOPATH)/bin, where the tests look),
# prlimit (the out-of-descriptors test), fusermount3 (the benchmark's slow
# FUSE storage, cmd/reelbench), wrk (the benchmark's second load
# generator), pebble and pebble-challtestsrv (the ACME test CA; go install,
# like versitygw), certutil (puts a test CA in the NSS database Chromium
# trusts, for the HTTPS browser test). As root it uses apt-get; otherwise it says
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
[ ${#want[@]} -gt 0 ] || want=(redis-server redis-cli curl ffmpeg ffprobe chromium nginx prlimit versitygw fusermount3 wrk pebble certutil)

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

# --- tls (issue 24): Pebble, the ACME test CA, and its DNS/challenge test
# server, for cmd/reelcache/acme_test.go. Go programs: go install them into
# $(go env GOPATH)/bin, where the tests look.
PEBBLE_VERSION=v2.10.3
for i in "${!want[@]}"; do
	[ "${want[$i]}" = pebble ] || continue
	unset 'want[i]'
	gobin=$(go env GOBIN)
	[ -n "$gobin" ] || gobin=$(go env GOPATH)/bin
	for tool in pebble pebble-challtestsrv; do
		if command -v "$tool" >/dev/null 2>&1 || [ -x "$gobin/$tool" ]; then
			continue
		fi
		echo "deps: installing $tool into $gobin (go install github.com/letsencrypt/pebble/v2/cmd/$tool@$PEBBLE_VERSION)" >&2
		if ! (cd "${TMPDIR:-/tmp}" && GOFLAGS= go install "github.com/letsencrypt/pebble/v2/cmd/$tool@$PEBBLE_VERSION"); then
			msg="deps: could not install $tool: run go install github.com/letsencrypt/pebble/v2/cmd/$tool@$PEBBLE_VERSION"
			if [ "${CI:-}" = true ]; then
				echo "$msg" >&2
				status=1
			else
				echo "$msg (the ACME tests will skip)" >&2
			fi
		fi
	done
done
want=("${want[@]}")
# --- end tls

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
