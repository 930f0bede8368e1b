#!/usr/bin/env bash
# Soak test of caddy-clerk: one command, `bash bench/soak.sh` from the
# repository root (or anywhere). Mixed traffic (valid, expired, forged and
# unknown-kid tokens, public and protected routes, forged X-Clerk-* headers,
# signed and badly signed webhooks) against our Caddy in front of an upstream
# that checks every decision it sees; reports requests, wrong decisions, 5xx
# and Caddy's memory over time. Exits 1 unless there were 0 wrong decisions,
# 0 5xx, 0 transport errors and memory levelled off. See bench/README.md.
#
# Knobs (environment variables):
#   DURATION=3m       length of the traffic (Go duration)
#   WORKERS=16        concurrent client workers
#   POOL=3000         distinct valid tokens
#   SAMPLE=5s         memory sampling interval
#   BASE_PORT=18500   loopback ports BASE_PORT+1, +2, +4, +10, +20 are used
#   OUT=...           output directory (default: a new one under ${TMPDIR:-/tmp})
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"

DURATION=${DURATION:-3m}
WORKERS=${WORKERS:-16}
POOL=${POOL:-3000}
SAMPLE=${SAMPLE:-5s}
BASE_PORT=${BASE_PORT:-18500}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/caddy-clerk-soak.XXXXXX")}
mkdir -p "$OUT/bin"

PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building our Caddy (./cmd/caddy) and bench/tools/soak"
(cd "$REPO" && go build -o "$OUT/bin/caddy" ./cmd/caddy)
(cd "$REPO/bench/tools" && go build -o "$OUT/bin/soak" ./soak)

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "source: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' (working tree with uncommitted changes)')"
	echo "nproc: $(nproc)"
	lscpu | grep -E '^(Model name|Hypervisor)' || true
	echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "load average before: $(cat /proc/loadavg)"
	echo "settings: DURATION=$DURATION WORKERS=$WORKERS POOL=$POOL SAMPLE=$SAMPLE BASE_PORT=$BASE_PORT"
} | tee "$OUT/machine.txt"
echo "output: $OUT"

# The soak program stops by itself after DURATION (and at the latest
# DURATION + 3 minutes); Caddy dies with it (Pdeathsig).
set +e
"$OUT/bin/soak" -caddy "$OUT/bin/caddy" -out "$OUT" -duration "$DURATION" -workers "$WORKERS" \
	-pool "$POOL" -sample "$SAMPLE" -base-port "$BASE_PORT" &
PID=$!
wait "$PID"
rc=$?
PID=
set -e
echo "load average after: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo "results: $OUT/results.md  memory: $OUT/memory.csv  Caddy log: $OUT/caddy.log  Caddyfile: $OUT/Caddyfile"
exit $rc
