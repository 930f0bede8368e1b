#!/usr/bin/env bash
# The project's test command: makes sure Debian's Chromium is there for the
# browser end-to-end test (installing it with apt-get when missing; never a
# downloaded browser build), then runs every Go test with the race detector.
# Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
	echo "== installing Debian's Chromium for the browser test"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

go test -race -count=1 "$@" ./...
