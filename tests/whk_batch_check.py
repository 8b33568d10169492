#!/usr/bin/python3
# impcore - whk_batch_check: the batch deliveries (webhook_mode batch) a
# receiver logged (tests/whk_sink.py), checked against the batches' result
# ids as the server lists them.  Used by t-whk-batch*.sh.
#   whk_batch_check.py SINK.jsonl IDS.json [--secret S] [--max BYTES]
#                      [--once] [--since T]
# IDS.json: {batch_id: [result ids in spectrum order]}.  Each batch must
# have arrived whole: its parts 1..N (or one unsplit body) under webhook-ids
# "<id>" or "<id>-<part>", one id per batch and stable across retries,
# their results in order = the batch's.  --once: no webhook-id twice among
# the requests answered 2xx.  --max: split bodies are within it (a part of
# one result may pass it).  --secret: every signature verifies.
import argparse, base64, collections, hashlib, hmac, json, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from implib import check, done

ap = argparse.ArgumentParser()
ap.add_argument("sink")
ap.add_argument("ids")
ap.add_argument("--secret")
ap.add_argument("--max", type=int)
ap.add_argument("--once", action="store_true")
a = ap.parse_args()
want = json.load(open(a.ids))
reqs = [json.loads(l) for l in open(a.sink) if l.strip()]
posts = [r for r in reqs if r["method"] == "POST"]
okd = [r for r in posts if str(r.get("action")).startswith("2") or
       r.get("action") == "slow"]
key = base64.b64decode(a.secret[len("whsec_"):]) if a.secret else None

byb = collections.defaultdict(dict)	# batch -> part -> body
ids = collections.defaultdict(set)	# batch -> delivery ids
for r in okd:
    h, body = r["headers"], r["body"]
    wid = h.get("webhook-id", "")
    j = json.loads(body)
    b = j.get("batch_id")
    m = re.fullmatch(r"([0-9a-f]{16})(?:-([0-9]+))?", wid)
    check(m is not None, "%s: webhook-id is 16 hex digits, -part when split" % wid)
    if m is None:
        continue
    part, parts = j.get("part", 1), j.get("parts", 1)
    check((m.group(2) is None) == (parts == 1) and
          int(m.group(2) or 1) == part, "%s: webhook-id names part %d of %d" % (wid, part, parts))
    ids[b].add(m.group(1))
    if key is not None:
        ts = h.get("webhook-timestamp")
        mac = hmac.new(key, ("%s.%s.%s" % (wid, ts, body)).encode(),
                       hashlib.sha256).digest()
        check(h.get("webhook-signature") == "v1," + base64.b64encode(mac).decode(),
              "%s: signature verifies" % wid)
    check(set(j) >= {"batch_id", "time", "results"}, "%s: batch_id, time, results" % wid)
    if a.max and parts > 1:
        check(len(body) <= a.max or len(j["results"]) == 1,
              "%s: part of %d bytes within --max %d" % (wid, len(body), a.max))
    byb[b].setdefault("parts", parts)
    check(byb[b]["parts"] == parts, "%s: parts agree (%d)" % (wid, parts))
    prev = byb[b].get(part)
    got = [x["id"] for x in j["results"]]
    check(prev is None or prev == got, "%s: a part sent again has the same results" % wid)
    byb[b][part] = got
if a.once:
    c = collections.Counter(r["headers"].get("webhook-id") for r in okd)
    dup = {k: n for k, n in c.items() if n > 1}
    check(not dup, "every delivery answered 2xx once (%s)" % dup)
for b, rids in want.items():
    d = byb.get(b)
    check(d is not None, "batch %s delivered" % b)
    if d is None:
        continue
    check(len(ids[b]) == 1, "batch %s: one delivery id (%s)" % (b, sorted(ids[b])))
    n = d["parts"]
    got = []
    for k in range(1, n + 1):
        check(k in d, "batch %s: part %d of %d arrived" % (b, k, n))
        got += d.get(k, [])
    check(got == rids, "batch %s: its %d results, in spectrum order (got %d)" % (b, len(rids), len(got)))
extra = set(byb) - set(want)
check(not extra, "no delivery of another batch (%s)" % sorted(extra))
print("batches %d, deliveries answered %d, requests %d" % (len(byb), len(okd), len(posts)))
done()
