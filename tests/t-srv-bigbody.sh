#!/bin/sh
# impsolverd, a large bad body: the worker answers 400 in bounded memory.
# jtok refuses the text; json_loadb, asked where the error is, builds a
# tree of everything before it (an object "{}" costs jansson some 200
# bytes, its token 20), so a 30 MB body of "{}," took the worker past 2 GB
# until jansson got a memory budget (wrk_json.c, jb_malloc).  A bad body
# under the budget still gets jansson's message with its line and column.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-bigbody 180

srv_start -threads=1 -max-body=40M
"$PY" -c '
import sys
open(sys.argv[1], "w").write("{\"spectra\":[" + "{}," * 10000000 + "]}")
open(sys.argv[2], "w").write("{\"spectra\":[" + "{}," * 1000 + "]}")' \
    "$T/big.json" "$T/small.json"

# the largest peak RSS (VmHWM) of the children, in kB: the worker's
hwm() {
	for p in $(srv_children); do
		awk '/^VmHWM/ { print $2 }' /proc/$p/status 2>/dev/null
	done | sort -n | tail -1
}

st=$($CURL --max-time 120 -s -o "$T/o" -w '%{http_code}' --data-binary @"$T/big.json" "$SRV_URL/eis-data/batch")
[ "$st" = 400 ] && grep -q '"error":"invalid JSON (the body is too large to tell where' "$T/o" &&
    srv_ok "30 MB bad body: 400 $(cat "$T/o")" || srv_fail "30 MB bad body: $st $(head -c 300 "$T/o")"
kb=$(hwm)
# the token array (16.7M tokens of 20 bytes after doubling) and the body
# are some 400 MB; the tree jansson built was over 2 GB
[ -n "$kb" ] && [ "$kb" -lt 1200000 ] && srv_ok "peak RSS of the children: $((kb / 1024)) MB" ||
    srv_fail "peak RSS of the children: ${kb:-?} kB (over 1.2 GB)"

st=$($CURL -s -o "$T/o" -w '%{http_code}' --data-binary @"$T/small.json" "$SRV_URL/eis-data/batch")
[ "$st" = 400 ] && grep -q '"error":"invalid JSON: .*(line 1, column 3013)","field":"spectra\[1000\]"' "$T/o" &&
    srv_ok "small bad body: jansson's message: $(cat "$T/o")" || srv_fail "small bad body: $st $(cat "$T/o")"

srv_py gen after-big 4 >"$T/good.json"
st=$($CURL -s -o /dev/null -w '%{http_code}' -d @"$T/good.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_fail "valid batch after: $st"
srv_py check "$SRV_URL" after-big 4 60 && srv_ok "a valid batch is fitted after" || srv_fail "valid batch after"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
