#!/usr/bin/env bash
# Load benchmark of caddy-clerk: one command, `bash bench/run.sh` from the
# repository root (or anywhere). See bench/README.md.
#
# Knobs (environment variables):
#   REPS=5            repetitions of every measured run
#   DURATION=5s       length of one measured wrk run
#   CONNS=32          wrk connections
#   THREADS=1         wrk threads
#   WARMUP=1s         one warm-up run per configuration and workload
#   FLOOD_REPS=3      flood test repetitions (one run without, one with the flood each)
#   FLOOD_DURATION=10s
#   MEM_TOKENS=100000 distinct valid tokens in the memory test (1000000: about 15-20 min)
#   MEM_KEY_BITS=1024 key size signing the memory test's tokens (1024: ~3x faster
#                     minting; tokens are padded to the same length)
#   STAGES=main,profile,refresh,flood,mem
#   PROFILE_SECONDS=5 length of each CPU profile
#   BASE_PORT=18400   loopback ports BASE_PORT+1 .. BASE_PORT+26 are used
#   OUT=...           output directory (default: a new one under ${TMPDIR:-/tmp})
#   DEADLINE=45m      everything is stopped after this long
#   REV=<revision>    build Caddy from a clean snapshot of this git revision
#                     (default: the working tree as it is)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="/usr/local/go/bin:$PATH"

REPS=${REPS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-1s}
FLOOD_REPS=${FLOOD_REPS:-3}
FLOOD_DURATION=${FLOOD_DURATION:-10s}
MEM_TOKENS=${MEM_TOKENS:-100000}
MEM_KEY_BITS=${MEM_KEY_BITS:-1024}
STAGES=${STAGES:-main,profile,refresh,flood,mem}
PROFILE_SECONDS=${PROFILE_SECONDS:-5}
BASE_PORT=${BASE_PORT:-18400}
DEADLINE=${DEADLINE:-45m}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/caddy-clerk-bench.XXXXXX")}
mkdir -p "$OUT/bin"

# Kill whatever the runner started if we are interrupted or it dies.
cleanup() {
	if [ -f "$OUT/pids" ]; then
		while read -r pid; do
			kill -TERM -- "-$pid" 2>/dev/null || true
		done <"$OUT/pids"
		sleep 1
		while read -r pid; do
			kill -KILL -- "-$pid" 2>/dev/null || true
		done <"$OUT/pids"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v wrk >/dev/null 2>&1; then
	echo "== installing wrk from Debian's packages"
	if ! apt-get install -y wrk >/dev/null 2>&1; then
		apt-get update >/dev/null
		apt-get install -y wrk >/dev/null
	fi
fi

# The source to build: the working tree, or with REV=<git revision> a clean
# snapshot of that revision (plus this working tree's bench/), so that edits
# in progress elsewhere in the tree do not leak into the numbers.
SRC=$REPO
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "${REV:-}" ]; then
	SRC="$OUT/src"
	rm -rf "$SRC" && mkdir -p "$SRC"
	git -C "$REPO" archive "$REV" | tar -x -C "$SRC"
	rm -rf "$SRC/bench" && cp -r "$REPO/bench" "$SRC/bench"
	COMMIT="$(git -C "$REPO" rev-parse --short "$REV") (clean snapshot, bench/ from the working tree)"
elif ! git -C "$REPO" diff --quiet HEAD 2>/dev/null; then
	COMMIT="$COMMIT (working tree with uncommitted changes)"
fi

echo "== building our Caddy (./cmd/caddy) from $SRC and the benchmark tools"
(cd "$SRC" && go build -o "$OUT/bin/caddy" ./cmd/caddy)
(cd "$SRC/bench/tools" && go build -o "$OUT/bin/" ./fixture ./upstream ./authsvc ./runner)

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "source: $COMMIT"
	echo "nproc: $(nproc)"
	lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|Hypervisor|L2|L3)' || true
	echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "wrk: $(wrk -v 2>&1 | head -1)"
	echo "load average before: $(cat /proc/loadavg)"
	echo "settings: REPS=$REPS DURATION=$DURATION CONNS=$CONNS THREADS=$THREADS WARMUP=$WARMUP FLOOD_REPS=$FLOOD_REPS FLOOD_DURATION=$FLOOD_DURATION MEM_TOKENS=$MEM_TOKENS MEM_KEY_BITS=$MEM_KEY_BITS STAGES=$STAGES PROFILE_SECONDS=$PROFILE_SECONDS"
} | tee "$OUT/machine.txt"
echo "output: $OUT"

"$OUT/bin/runner" \
	-caddy "$OUT/bin/caddy" -bin "$OUT/bin" -lua "$SRC/bench/tokens.lua" -out "$OUT" \
	-reps "$REPS" -duration "$DURATION" -conns "$CONNS" -threads "$THREADS" -warmup "$WARMUP" \
	-flood-reps "$FLOOD_REPS" -flood-duration "$FLOOD_DURATION" -mem-tokens "$MEM_TOKENS" -mem-keybits "$MEM_KEY_BITS" \
	-stages "$STAGES" -profile-seconds "$PROFILE_SECONDS" -base-port "$BASE_PORT" -deadline "$DEADLINE"

echo "load average after: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo
echo "results: $OUT/results.md  raw runs: $OUT/runs.csv  profiles: $OUT/profiles/  logs: $OUT/logs/"
