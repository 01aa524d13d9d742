#!/usr/bin/env bash
# Runs the Go tests through gotestsum and ends with one plain line,
# "N passed, N failed, N skipped", that `make test` adds to the web's.
#
# Usage: infra/testsum/gotest.sh OUTDIR [gotestsum flags] -- [go test flags and packages]
# Writes OUTDIR/test.json (the go test -json stream) and OUTDIR/junit.xml.
#
# gotestsum counts what a plain "--- FAIL" count misses: a package that fails
# to build, a TestMain that exits non-zero and a panic outside any test each
# count as one failed (gotestsum names them "TestMain" in the JUnit file). A
# run that fails with nothing counted (go test refused its flags, say) counts
# as one failed. Exits 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$1
shift
mkdir -p "$out"
rm -f "$out/junit.xml"

status=0
go tool -modfile=tools/gotestsum.mod gotestsum \
	--format pkgname-and-test-fails --format-hide-empty-pkg \
	--jsonfile "$out/test.json" --junitfile "$out/junit.xml" "$@" || status=$?

# <testsuites tests="T" failures="F" ...>: T counts tests that ran (not the
# package-level "TestMain" entries), F counts failed tests and those entries.
attr() { grep -o "<testsuites [^>]*" "$out/junit.xml" 2>/dev/null | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
tests=$(attr tests)
failed=$(attr failures)
skipped=$(grep -o '<testsuite [^>]* skipped="[0-9]*"' "$out/junit.xml" 2>/dev/null | grep -o 'skipped="[0-9]*"' | grep -o '[0-9]*' | awk '{ s += $1 } END { print s + 0 }')
outside=$(grep -c '<testcase classname="" name="TestMain"' "$out/junit.xml" 2>/dev/null || true)
passed=$((tests - skipped - (failed - ${outside:-0})))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
