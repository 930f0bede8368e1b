#!/usr/bin/env bash
# Proves the committed conformance data is real: installs the pinned Clerk SDK
# (npm ci), regenerates the cases, asks Clerk's SDK to decide them, and fails
# if testdata/cases.json or testdata/clerk-decisions.json differ from what was
# just produced. Then regenerates the summary docs/conformance.md (through
# TestConformanceSummary) and fails if the committed one is stale.
#
#   bash conformance/run.sh            # check (CI)
#   bash conformance/run.sh --update   # rewrite the committed files
#
# The comparison with our own code is `go test -run Conformance .`, which
# needs only the committed files, not Node.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
export PATH="/usr/local/go/bin:$PATH"

update=false
case "${1:-}" in
	--update) update=true ;;
	"") ;;
	*) echo "usage: bash conformance/run.sh [--update]" >&2; exit 2 ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$here"
echo "npm ci (pinned @clerk/backend, @clerk/shared, jose)"
npm ci --no-audit --no-fund --loglevel=error
if grep -q '"resolved"' package-lock.json; then
	echo "conformance/package-lock.json records registry URLs; keep omit-lockfile-registry-resolved in .npmrc" >&2
	exit 1
fi

node generate.mjs >"$tmp/cases.json"
node oracle.mjs "$tmp/cases.json" >"$tmp/clerk-decisions.json"

stale=()
check() { # check <fresh file> <committed file>
	if [ "$update" = true ]; then
		cp "$1" "$2"
	elif ! cmp -s "$1" "$2"; then
		echo "STALE: ${2#"$root"/} differs from what was just produced:" >&2
		diff -u "$2" "$1" | head -40 | cut -c1-200 >&2 || true
		stale+=("${2#"$root"/}")
	fi
}
check "$tmp/cases.json" "$here/testdata/cases.json"
check "$tmp/clerk-decisions.json" "$here/testdata/clerk-decisions.json"

cd "$root"
go test -count=1 -run '^TestConformanceSummary$' . -args -conformance.summary="$tmp/conformance.md" >"$tmp/go-test.log" 2>&1 ||
	{ cat "$tmp/go-test.log" >&2; exit 1; }
mkdir -p docs
check "$tmp/conformance.md" "$root/docs/conformance.md"

if [ "${#stale[@]}" -gt 0 ]; then
	echo "run 'bash conformance/run.sh --update' and commit: ${stale[*]}" >&2
	exit 1
fi
if [ "$update" = true ]; then
	echo "conformance: cases, Clerk's decisions and docs/conformance.md rewritten"
else
	echo "conformance: committed cases, Clerk's decisions and summary are current"
fi
