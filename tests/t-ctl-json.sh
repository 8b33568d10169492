#!/bin/sh
# impcore - t-ctl-json: impctl --json on every reading command (status,
# stats, top, history, batches, batch, webhooks) prints one JSON document,
# checked with python's json module: on an empty server (nothing to show is
# still valid JSON: [] and zero counts), with a batch and a webhook that
# cannot be delivered, and after the server stopped.  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"

ctl_init t-ctl-json 120
# webhooks to a port nobody listens on: they stay pending
ctl_start -profile -profile-port=0 -webhook-url=http://127.0.0.1:9/hook

# jcheck WHAT PYTHON-EXPR CMD...: CMD exits 0 (3 for status when down),
# its output is one JSON document, and PYTHON-EXPR holds of it (as d)
jcheck() {
	what=$1 expr=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -ne 0 ] && ! { [ "$2" = status ] && [ "$rc" -eq 3 ]; }; then
		fail "$what: exit $rc: $(head -c 300 "$T/err")"
		return
	fi
	if python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$T/out" "$expr" 2>"$T/py"; then
		ok "$what"
	else
		fail "$what: $expr: $(head -c 300 "$T/py") in: $(head -c 400 "$T/out")"
	fi
}

jcheck "status --json, up" 'd["up"] is True and d["master_pid"] > 0 and
    sum(p["process"].startswith("worker.") and p["alive"] for p in d["processes"]) == 2' \
    ctl status --json
jcheck "batches --json, none yet" 'd["batches"] == [] and d["total"] == 0' ctl batches --json
jcheck "webhooks --json, none yet" 'd["webhooks"] == [] and d["pending"] == 0' \
    ctl webhooks --json
jcheck "webhooks -a --json, none yet" 'd["webhooks"] == [] and d["delivered"] == 0' \
    ctl webhooks -a --json
jcheck "history --json -n 1: a list" 'isinstance(d, list) and len(d) <= 1' \
    ctl history --json -n 1
jcheck "stats --json" 'd["counters"]["http_requests"] >= 0' ctl stats --json
jcheck "top --json -i 0.2: one snapshot" 'd["queue"]["depth"] == 0 and
    "http_requests" in d["rates"] and len(d["processes"]) >= 3' ctl top --json -i 0.2

srv_py gen json-batch 3 >"$T/b.json"
c=$(http POST /eis-data/batch "$T/b.json")
[ "$c" = 202 ] || fail "POST batch: HTTP $c"
wait_for 60 batch_done json-batch || fail "json-batch not done in 60 s"
jcheck "batches --json: the batch" 'd["total"] == 1 and d["batches"][0]["batch_id"] ==
    "json-batch" and d["batches"][0]["spectra"] == 3 and d["batches"][0]["done"] == 3' \
    ctl batches --json
jcheck "batch --json" 'len(d["results"]) == 3' ctl batch --json json-batch
jcheck "webhooks --json: 3 undelivered" 'len(d["webhooks"]) == 3 and
    all(w["batch_id"] == "json-batch" and w["url"].endswith(":9/hook") for w in d["webhooks"])' \
    ctl webhooks --json
wait_for 10 sh -c "[ \$($IMPCTL -d $STATE history --json -n 300 | grep -c '^{') -ge 2 ]" ||
    fail "no history samples in 10 s"
jcheck "history --json: samples" 'len(d) >= 2 and all("processes" in s for s in d)' \
    ctl history --json -n 300

srv_stop || fail "SIGTERM exit status $?"
jcheck "status --json, down (exit 3)" 'd["up"] is False and d["master_pid"] is None and
    d["down_reason"]' ctl status --json
jcheck "top --json, down" 'd["processes"] == []' ctl top --json -i 0.1
srv_done
