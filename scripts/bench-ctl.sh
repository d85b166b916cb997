#!/usr/bin/env bash
# Restarts servers of a running `make bench` with empty caches, for the
# reset= option of `reelbench compare` (a cold row is cold in every round).
#
# Usage: scripts/bench-ctl.sh WORK reset NAME...
set -euo pipefail
[ $# -ge 3 ] && [ "$2" = reset ] || { echo "usage: $0 WORK reset NAME..." >&2; exit 2; }
work=$1
shift 2
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
relaunch "$@"
