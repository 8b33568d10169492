#!/bin/sh
# impcore - t-srv-logfmt: logs for operators (issue 17, item 10).
#  1. -log-format=json -log-spectra -profile: every line of the daemon's
#     log parses as JSON with time, level, role, pid and message (workers
#     with their index); request lines carry method, path, status as
#     fields, a failed webhook attempt its id, outcome and error; a 🔍
#     line per spectrum fitted; the banner's messages are the
#     guide's ("📈 Profiling endpoints:", "  - CPU Profile: http://...").
#  2. text, -profile without -log-spectra: every line has its time and a
#     level; no 🔍 line although spectra were fitted (30 s of load wrote
#     145 MB when -profile turned them on).
#  3. under systemd (JOURNAL_STREAM names stderr): every line starts with
#     an sd-daemon "<N>" priority and has no time of its own.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-logfmt 180

# load: a 404, a synchronous fit, a batch of 3; waits for the batch
load() {
	c=$($CURL -s -o /dev/null -w '%{http_code}' "$SRV_URL/no-such-thing")
	[ "$c" = 404 ] || srv_fail "GET /no-such-thing: HTTP $c"
	srv_py spectrum 1 >"$T/one.json"
	c=$($CURL -s -o "$T/body" -w '%{http_code}' --data-binary @"$T/one.json" "$SRV_URL/eis-data")
	[ "$c" = 200 ] || srv_fail "POST /eis-data: HTTP $c $(head -c 200 "$T/body")"
	srv_py gen "$1" 3 >"$T/b.json"
	c=$($CURL -s -o "$T/body" -w '%{http_code}' --data-binary @"$T/b.json" "$SRV_URL/eis-data/batch")
	[ "$c" = 202 ] || srv_fail "POST batch: HTTP $c $(head -c 200 "$T/body")"
	srv_py check "$SRV_URL" "$1" 3 60 >/dev/null || srv_fail "batch $1 not fitted"
}

# 1. JSON lines
# (webhooks to a closed port: their failed attempts are logged with fields)
srv_start -threads=2 -quiet=false -log-format=json -log-spectra -profile -profile-port=0 \
    -webhook-url=http://127.0.0.1:9/hook
load logfmt-json
# a query value may be a secret: no JSON field or message shows it
$CURL -s -o /dev/null "$SRV_URL/no-such-thing/x?token=logfmt-sekrit"
for i in $(seq 1 100); do grep -q 'Webhook\[' "$T/log" && break; sleep 0.1; done
srv_stop || srv_fail "stop: exit $?"
mv "$T/log" "$T/log.json"
# the next runs start afresh (no webhooks left pending by this one)
rm -rf "$STATE"
"$PY" - "$T/log.json" <<'EOF' && srv_ok "JSON lines: every line parses, with its keys; request and webhook fields (no query value); 4 spectrum lines; the banner" || srv_fail "JSON lines (see above)"
import json, re, sys
bad, n, spectra, reqs, hooks, msgs = [], 0, 0, 0, 0, []
for i, ln in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    n += 1
    try:
        j = json.loads(ln)
    except ValueError as e:
        bad.append("line %d is not JSON (%s): %s" % (i, e, ln[:120]))
        continue
    miss = [k for k in ("time", "level", "role", "pid", "message") if k not in j]
    if miss:
        bad.append("line %d lacks %s" % (i, miss))
        continue
    if j["level"] not in ("error", "warning", "info", "debug"):
        bad.append("line %d: level %r" % (i, j["level"]))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", j["time"]):
        bad.append("line %d: time %r" % (i, j["time"]))
    if j["role"] == "worker" and not isinstance(j.get("index"), int):
        bad.append("line %d: a worker's line without its index" % i)
    if not isinstance(j["pid"], int):
        bad.append("line %d: pid %r" % (i, j["pid"]))
    msgs.append(j["message"])
    if j["message"].startswith("\U0001F50D Worker["):
        spectra += 1
        if not isinstance(j.get("duration_ms"), (int, float)):
            bad.append("line %d: spectrum line without duration_ms" % i)
    if j["message"].startswith("\U0001F310 Webhook[") and "\u274c" in j["message"]:
        if j.get("outcome") == "failed" and isinstance(j.get("error"), str) and j.get("webhook_id"):
            hooks += 1
        else:
            bad.append("line %d: a failed webhook attempt without its fields: %r" % (i, j))
    if j.get("path") == "/no-such-thing":
        reqs += 1
        if j.get("status") != 404 or j.get("method") != "GET":
            bad.append("line %d: request fields %r" % (i, j))
if spectra != 4:
    bad.append("%d spectrum lines, want 4 (1 sync + 3 in the batch)" % spectra)
if hooks < 1:
    bad.append("no failed webhook attempt line with webhook_id, outcome, error")
if reqs != 1:
    bad.append("%d lines for GET /no-such-thing with fields, want 1" % reqs)
if "\U0001F4C8 Profiling endpoints:" not in msgs:
    bad.append("no message '\U0001F4C8 Profiling endpoints:'")
if not any(re.match(r"^  - CPU Profile:    http://localhost:\d+/debug/pprof/profile$", m) for m in msgs):
    bad.append("no message '  - CPU Profile: http://localhost:PORT/debug/pprof/profile'")
if "logfmt-sekrit" in open(sys.argv[1], encoding="utf-8").read():
    bad.append("a query value reached the JSON log unmasked")
for b in bad[:20]:
    print("FAIL: " + b)
print("# %d lines" % n)
sys.exit(1 if bad or n < 10 else 0)
EOF

# 2. text, -profile alone: a level on every line, no per-spectrum lines
srv_start -threads=2 -quiet=false -profile -profile-port=0
load logfmt-text
srv_stop || srv_fail "stop: exit $?"
mv "$T/log" "$T/log.text"
n=$(wc -l <"$T/log.text")
b=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{15}Z impsolverd\[[0-9]+\] [a-z]+(\[[0-9]+\])?: (error|warning|info|debug): ' "$T/log.text")
[ "$n" -gt 10 ] && [ "$b" -eq 0 ] && srv_ok "text: all $n lines have a time and a level" ||
    { srv_fail "text: $b of $n lines without time and level"; grep -vE ': (error|warning|info|debug): ' "$T/log.text" | head -n 5; }
s=$(grep -c 'eis-processing' "$T/log.text")
[ "$s" -eq 0 ] && grep -q 'info: POST /eis-data/batch 202' "$T/log.text" &&
    srv_ok "-profile without -log-spectra: request lines, no spectrum line" ||
    srv_fail "-profile without -log-spectra: $s spectrum lines"
grep -q 'profiler: info: 📈 Profiling endpoints:$' "$T/log.text" &&
    grep -qE 'profiler: info:   - CPU Profile:    http://localhost:[0-9]+/debug/pprof/profile$' "$T/log.text" &&
    srv_ok "text banner: 📈 Profiling endpoints: and its '  - CPU Profile: ...' bullets" ||
    srv_fail "text banner: $(grep -A2 'Starting profiling' "$T/log.text")"
# the guide's eight bullets, its names, its column, its order (GoImpCore's
# profiling guide); ours (Metrics) may follow
sed -n 's/.* profiler: info: \(  - .*\)http:\/\/localhost:[0-9]*\(.*\)/\1\2/p' \
    "$T/log.text" | head -n 8 >"$T/bullets"
cat >"$T/bullets.want" <<'EOF'
  - CPU Profile:    /debug/pprof/profile
  - Heap Profile:   /debug/pprof/heap
  - Goroutines:     /debug/pprof/goroutine
  - Block Profile:  /debug/pprof/block
  - Mutex Profile:  /debug/pprof/mutex
  - Full Index:     /debug/pprof/
  - Runtime Info:   /debug/info
  - Runtime Stats:  /debug/stats
EOF
cmp -s "$T/bullets" "$T/bullets.want" &&
    srv_ok "text banner: the guide's eight bullets, names and column" ||
    { srv_fail "text banner bullets differ from the guide's:"; diff "$T/bullets.want" "$T/bullets"; }

# 3. the journal: stderr is the stream $JOURNAL_STREAM names
: >"$T/log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/log")
export JOURNAL_STREAM
srv_start -threads=2 -quiet=false
unset JOURNAL_STREAM
load logfmt-journal
srv_stop || srv_fail "stop: exit $?"
n=$(wc -l <"$T/log")
b=$(grep -cvE '^<[3467]>impsolverd\[[0-9]+\] [a-z]+(\[[0-9]+\])?: (error|warning|info|debug): ' "$T/log")
[ "$n" -gt 5 ] && [ "$b" -eq 0 ] && srv_ok "journal: all $n lines start with <N>, no time of their own" ||
    { srv_fail "journal: $b of $n lines not '<N>impsolverd[pid] role: level: '"; head -n 5 "$T/log"; }
grep -q '^<6>impsolverd\[[0-9]*\] worker\[[01]\]: info: GET /no-such-thing 404 ' "$T/log" &&
    srv_ok "journal: a request line at <6> (info)" || srv_fail "journal: no <6> request line"
srv_done
