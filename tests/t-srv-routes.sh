#!/bin/sh
# impsolverd: the API's route table (issue 20, item 4).  Every route of
# wrk_routes[] answers every method it does not serve with 405, an Allow
# header listing exactly the methods it serves and the JSON error of
# DESIGN section 4; every near miss of a route (a suffix, a sub-path, an
# empty or extra {id} segment, another case) is 404 "no such endpoint"
# whatever the method; an {id} too long is the route's own 404; a method
# the route serves is neither.  The test's list must name every row of
# the table in src/worker/wrk_api.c, so a new route comes with its line
# here.  With -api-token, /health alone answers (405 too) without the
# token, and the token is checked before 404 and 405.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-routes 240

ROUTES_PY="$T/routes.py"
cat >"$ROUTES_PY" <<'PYEOF'
import json, re, sys
src = open(sys.argv[2]).read().split("cmds = {")[0]
g = {}
exec(src, g)
request = g["request"]
url, wrk_api, mode = sys.argv[1], sys.argv[3], sys.argv[4]
bad = 0

def fail(msg):
    global bad
    bad += 1
    print("FAIL: " + msg)

# pattern, Allow, an example path
ROUTES = [
    ("/health", "GET, HEAD", "/health"),
    ("/eis-data", "GET, HEAD, POST", "/eis-data"),
    ("/eis-data/batch", "POST", "/eis-data/batch"),
    ("/eis-data/file", "POST", "/eis-data/file"),
    ("/eis-data/batch/{id}/plot.svg", "GET, HEAD", "/eis-data/batch/no-such/plot.svg"),
    ("/eis-data/batch/{id}", "GET, HEAD, DELETE", "/eis-data/batch/no-such"),
    ("/debug/gc", "GET, HEAD", "/debug/gc"),
    ("/debug/memory", "GET, HEAD", "/debug/memory"),
    ("/metrics", "GET, HEAD", "/metrics"),
]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
           "TRACE", "CONNECTX", "FOO"]

def err(data):
    try:
        d = json.loads(data)
    except ValueError:
        return None
    if d.get("success") is not False:
        return None
    return d.get("error")

if mode == "table":
    # the table in the source, row by row: { "/path", "name", ...
    text = open(wrk_api).read()
    body = text[text.index("wrk_routes[] = {"):]
    body = body[:body.index("\n};")]
    rows = re.findall(r'^\t\{ "(/[^"]*)", "', body, re.M)
    mine = [r[0] for r in ROUTES]
    if sorted(rows) != sorted(mine) or len(rows) < 9:
        fail("routes of wrk_routes[] %s, of this test %s" % (rows, mine))
    else:
        print("ok: the test covers the %d routes of wrk_routes[]" % len(rows))

if mode == "all":
    n405 = 0
    for pat, allow, path in ROUTES:
        served = allow.split(", ")
        for p in (path, path + "/"):
            for m in METHODS:
                if m in served:
                    continue
                st, h, data = request(url, m, p, body="{}" if m in ("POST", "PUT", "PATCH") else None)
                want = "method %s not allowed on %s (allowed: %s)" % (m, path, allow)
                if st != 405 or h.get("allow") != allow or (m != "HEAD" and err(data) != want):
                    fail("%s %s: %d Allow %r %r, want 405 Allow %r %r" % (m, p, st, h.get("allow"), data[:200], allow, want))
                n405 += 1
        # what the route serves is neither 404 "no such endpoint" nor 405
        for m in served:
            st, h, data = request(url, m, path, body="{}" if m == "POST" else None)
            e = err(data) or ""
            if st == 405 or e.startswith("no such endpoint") or (m == "HEAD" and st == 404 and "{id}" not in pat):
                fail("%s %s, a method it serves: %d %r" % (m, path, st, data[:200]))
    print("ok: %d refusals of %d routes were 405 with their Allow" % (n405, len(ROUTES)))

    n404 = 0
    for p in ["/", "/nope", "/healthx", "/health/x", "/HEALTH", "/eis-datax", "/eis-data/x",
              "/eis-data/batchx", "/eis-data/filex", "/eis-data/file/x", "/eis-data/batch//",
              "/eis-data/batch/a/b", "/eis-data/batch/a/b/plot.svg", "/eis-data/batch/a/plot.svgx", "/eis-data/batch/a/plot.svg/x",
              "/eis-data/batch//plot.svg", "/EIS-DATA", "/debug", "/debug/gcx", "/debug/memory/x",
              "/metricsx", "/metrics/x", "/eis-data//batch"]:
        for m in ("GET", "POST", "DELETE", "FOO"):
            st, h, data = request(url, m, p, body="{}" if m == "POST" else None)
            want = "no such endpoint: %s (see GET /eis-data)" % p
            if st != 404 or err(data) != want or "allow" in h:
                fail("%s %s: %d %r, want 404 %r" % (m, p, st, data[:200], want))
            n404 += 1
    print("ok: %d near misses were 404 no such endpoint" % n404)

    long_id = "a" * 65
    for p, want in (("/eis-data/batch/%s" % long_id, "no such batch (id too long)"),
                    ("/eis-data/batch/%s/plot.svg" % long_id, "no such batch")):
        for m in ("GET", "FOO"):
            st, h, data = request(url, m, p)
            if st != 404 or err(data) != want:
                fail("%s %s: %d %r, want 404 %r" % (m, p[:40], st, data[:200], want))
    print("ok: an id too long is the route's 404, whatever the method")

if mode == "token":
    st, h, data = request(url, "FOO", "/health")
    if st != 405 or h.get("allow") != "GET, HEAD":
        fail("FOO /health without the token: %d %r" % (st, h.get("allow")))
    st, h, data = request(url, "GET", "/health")
    if st != 200:
        fail("GET /health without the token: %d" % st)
    for m, p in (("GET", "/nope"), ("FOO", "/eis-data"), ("PUT", "/eis-data/batch"),
                 ("GET", "/metrics")):
        st, h, data = request(url, m, p)
        if st != 401 or h.get("www-authenticate") != "Bearer" or "allow" in h:
            fail("%s %s without the token: %d %r" % (m, p, st, data[:200]))
    auth = {"Authorization": "Bearer T0k"}
    for m, p, want in (("GET", "/nope", 404), ("FOO", "/eis-data", 405),
                       ("PUT", "/eis-data/batch", 405), ("GET", "/metrics", 200)):
        st, h, data = request(url, m, p, headers=auth)
        if st != want:
            fail("%s %s with the token: %d, want %d %r" % (m, p, st, want, data[:200]))
    print("ok: with -api-token, /health alone is open; the token before 404 and 405")

sys.exit(1 if bad else 0)
PYEOF

routes() {
	"$PY" "$ROUTES_PY" "$SRV_URL" "$T/srv.py" "$IMP_SRCDIR/src/worker/wrk_api.c" "$@"
}

routes table || srv_fail "the table and the test"
srv_start -threads=1
routes all || srv_fail "routes without a token"
srv_stop || srv_fail "SIGTERM exit status $?"

srv_start -threads=1 -api-token=T0k
routes token || srv_fail "routes with a token"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
