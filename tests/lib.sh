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
# skip MSG: exit 77, or 1 when IMP_STRICT is set (CI: nothing may be skipped)
skip() {
	if imp_strict; then
		echo "FAIL: $* (a skip is a failure with IMP_STRICT=$IMP_STRICT)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
# imp_strict: IMP_STRICT is set (and not 0): skips fail
imp_strict() { [ -n "${IMP_STRICT:-}" ] && [ "$IMP_STRICT" != 0 ]; }
# done_tests: exit with the verdict.
done_tests() { [ "$nfail" -eq 0 ] && { echo "PASS"; exit 0; }; echo "$nfail failed"; exit 1; }

# need_reffit: skip unless python3 with numpy and scipy is there.
need_reffit() {
	# reffit.py is not part of the repository (../shared has it, as CI does)
	[ -f "$IMP_REFFIT" ] ||
	    skip "no reference fitter at $IMP_REFFIT (outside the repository; set IMP_REFFIT)"
	/usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null ||
	    skip "python3 numpy/scipy missing"
}

# imp_watchdog SECONDS NAME [PIDFILE]: end the test if it runs longer than
# SECONDS.  The daemons listed in PIDFILE (one pid a line, written by the
# test as it starts them) are killed first with SIGKILL, with their process
# groups and children, so that a client blocked on them gets EOF; then the
# test gets SIGTERM (its traps clean up) and, 5 s later, it and everything
# it started still running get SIGKILL (a trap only runs once the
# foreground command ends).  The watchdog is not a job of the test (a bare
# `wait` does not wait for it); it checks the test is still the process it
# watched (start time) before it kills anything.  Sets IMP_WD (stop it at
# exit: imp_watchdog_stop).
imp_watchdog() {
	exec 3>&1
	IMP_WD=$(/bin/sh -c '
	me=$1 secs=$2 name=$3 pids=$4
	# starttime (field 22 of /proc/PID/stat; the name may hold spaces)
	started() { sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }
	st=$(started "$me")
	trap "kill \$sp 2>/dev/null; exit 0" TERM
	sleep "$secs" </dev/null >/dev/null 2>&1 &
	sp=$!
	wait "$sp"
	trap "" TERM
	# the test is gone (its pid may be another process now): nothing to do
	[ -n "$st" ] && [ "$(started "$me")" = "$st" ] || exit 0
	echo "FAIL: watchdog: $name took more than $secs s: killing it"
	# tree PID: the descendants of PID, not this watchdog
	tree() {
		for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
			[ "$c" = $$ ] && continue
			echo "$c"
			tree "$c"
		done
	}
	if [ -n "$pids" ] && [ -s "$pids" ]; then
		for p in $(cat "$pids"); do
			kids=$(tree "$p")
			kill -KILL "-$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
			for k in $kids; do kill -KILL "$k" 2>/dev/null; done
		done
	fi
	kids=$(tree "$me")
	kill -TERM "$me" 2>/dev/null
	n=50
	while [ $n -gt 0 ] && [ "$(started "$me")" = "$st" ]; do
		sleep 0.1
		n=$((n - 1))
	done
	[ "$(started "$me")" = "$st" ] && kids="$kids $(tree "$me")" &&
	    kill -KILL "$me" 2>/dev/null
	for k in $kids; do kill -KILL "$k" 2>/dev/null; done
	exit 0' imp-watchdog "$$" "$1" "$2" "${3:-}" >&3 3>&- </dev/null &
	echo $!)
	exec 3>&-
}
imp_watchdog_stop() { [ -n "${IMP_WD:-}" ] && kill "$IMP_WD" 2>/dev/null; IMP_WD=; return 0; }

# tmpdir: a private directory, removed at exit.
tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/imptest.XXXXXX") || exit 1
	trap 'imp_watchdog_stop; rm -rf "$T"' EXIT
}

# json_num FIELD: the number of "FIELD": in a JSON line on stdin.
json_num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" | head -1; }

# le A B TOL: succeed when A <= B * TOL (floating point).
le() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= (b + 0) * t) }'; }
