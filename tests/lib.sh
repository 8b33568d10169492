# impcore - helpers for the shell tests (sourced).  Each test prints what it
# checks and exits 0 (pass), 1 (fail) or 77 (skip).
: "${IMP_BUILDDIR:=$(pwd)}"
: "${IMP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${IMP_SHARED:=$IMP_SRCDIR/../shared}"
: "${IMP_REFFIT:=$IMP_SHARED/tools/reffit.py}"
IMPFIT=$IMP_BUILDDIR/src/impfit/impfit
nfail=0

# fail MSG: report a failed check; the test goes on and exits 1 at the end.
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
# done_tests: exit with the verdict.
done_tests() { [ "$nfail" -eq 0 ] && { echo "PASS"; exit 0; }; echo "$nfail failed"; exit 1; }

# need_reffit: skip unless python3 with numpy and scipy is there.
need_reffit() {
	[ -f "$IMP_REFFIT" ] || skip "no reffit.py at $IMP_REFFIT"
	/usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null ||
	    skip "python3 numpy/scipy missing"
}

# tmpdir: a private directory, removed at exit.
tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/imptest.XXXXXX") || exit 1
	trap 'rm -rf "$T"' EXIT
}

# json_num FIELD: the number of "FIELD": in a JSON line on stdin.
json_num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" | head -1; }

# le A B TOL: succeed when A <= B * TOL (floating point).
le() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= (b + 0) * t) }'; }
