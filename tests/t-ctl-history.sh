#!/bin/sh
# impcore - t-ctl-history: with -profile the profiler samples every process
# once a second into the state file; impctl history shows the samples, and
# still does after kill -9 of the whole tree (a post-mortem of the last
# minutes).  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"

ctl_init t-ctl-history 120
ctl_start -profile -profile-port=0

# 40 spectra of 1000 points: enough fitting that each worker's CPU time
# is past a clock tick (10 ms) however fast the machine; 6 small ones were
# not, and "CPU times read" then saw only zeros.
srv_py gen hist-batch 40 1000 >"$T/b.json"
c=$(http POST /eis-data/batch "$T/b.json")
[ "$c" = 202 ] || fail "POST batch: HTTP $c"
wait_for 60 batch_done hist-batch || fail "hist-batch not done in 60 s"

# the profiler's samples, one a second: wait for one taken after the fits
nsamples() { ctl history --json -n 300 | grep -c '^{'; }
n0=$(nsamples)
wait_for 10 sh -c "[ \$($IMPCTL -d $STATE history --json -n 300 | grep -c '^{') -ge $((n0 + 2)) ]" ||
    fail "history does not grow (had $n0 samples)"
pids=$(ctl stats --json | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"] if p["state"] in ("running", "starting")))')
expect_rc 0 "history while up" ctl history -n 2
grep -q '^time .* process .* cpu% .* rss' "$T/out" && grep -q ' worker\.1 ' "$T/out" &&
    ok "history: a table with every worker" || { fail "history text"; cat "$T/out"; }

srv_kill9_tree

expect_rc 0 "history after kill -9" ctl history --json -n 300
python3 - "$T/out" "$pids" <<'PY'
import json, os, sys
lines = json.load(open(sys.argv[1]))	# one array, a sample a line
pids = set(int(p) for p in sys.argv[2].split())
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
check(len(lines) >= 3, "%d samples kept in the state file" % len(lines))
times = [l["time"] for l in lines]
check(times == sorted(times) and len(set(times)) == len(times), "oldest first, one time each")
last = lines[-1]
got = set(p["pid"] for p in last["processes"])
check(pids <= got, "the last sample has every process of the tree: %s" % sorted(got))
roles = sorted(p["role"] for p in last["processes"])
check(roles.count("worker") == 2 and "master" in roles and "profiler" in roles, "roles %s" % roles)
fitted = sum(p["spectra_fitted"] for p in last["processes"])
check(fitted >= 40, "the workers' counters came along: %d spectra fitted" % fitted)
check(all(p["rss"] > 0 and p["threads"] >= 1 and p["state"] in "RSDIT" for p in last["processes"]),
      "/proc fields filled (rss, threads, state)")
wcpu = [p["utime_ns"] + p["stime_ns"] for p in last["processes"] if p["role"] == "worker"]
check(sum(wcpu) > 0, "CPU times read: the workers used %s ns" % wcpu)
done()
PY
[ $? -eq 0 ] && ok "the history outlived the server" || fail "history after kill -9"

expect_rc 2 "history -n 0" ctl history -n 0
expect_rc 2 "history -n 301" ctl history -n 301
srv_done
