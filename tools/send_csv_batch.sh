#!/bin/sh
# impcore - send_csv_batch.sh: convert a CSV of spectra with csv_to_batch.py
# and POST each batch to impsolverd with curl; print batch ids and status
# URLs, and with --wait poll until every spectrum is done or failed.
#
# usage: send_csv_batch.sh [--wait] [--timeout S] [--token T] URL-BASE CSV-FILE
#            [csv_to_batch.py options: --batch-id ID --circuit CDC --chunk N]
# exit: 0 all posted (and, with --wait, all done), 1 otherwise, 2 usage.

here=$(cd "$(dirname "$0")" && pwd)
wait=no
timeout=300
token=${IMP_API_TOKEN-}
url=
csv=
set -- "$@" --end-of-args--
while [ "$1" != --end-of-args-- ]; do
	case $1 in
	--wait)		wait=yes ;;
	--timeout)	timeout=$2; shift ;;
	--timeout=*)	timeout=${1#*=} ;;
	--token)	token=$2; shift ;;
	--token=*)	token=${1#*=} ;;
	-h|--help)	sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
	--batch-id|--circuit|--chunk|--timestamp)
		set -- "$@" "$1" "$2"; shift ;;
	-*)		set -- "$@" "$1" ;;
	*)
		# the two positionals, then everything is csv_to_batch.py's
		if [ -z "$url" ]; then url=$1
		elif [ -z "$csv" ]; then csv=$1
		else set -- "$@" "$1"
		fi ;;
	esac
	shift
done
shift	# the marker; "$@" is now the converter's options
if [ -z "$url" ] || [ -z "$csv" ]; then
	sed -n '6,7s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi
url=${url%/}
case $timeout in ''|*[!0-9]*) echo "send_csv_batch: bad --timeout" >&2; exit 2 ;; esac

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

# curl with the token (if any) passed on stdin-free config, so it never
# shows in ps
curl_api() {
	if [ -n "$token" ]; then
		printf 'header = "Authorization: Bearer %s"\n' "$token" >"$tmp/auth"
		curl -K "$tmp/auth" "$@"
	else
		curl "$@"
	fi
}

# json_get FILE KEY: a top-level scalar of a JSON document
json_get() {
	python3 -c 'import json,sys
try: v = json.load(open(sys.argv[1])).get(sys.argv[2], "")
except Exception: v = ""
print(v if not isinstance(v, bool) else str(v).lower())' "$1" "$2"
}

python3 "$here/csv_to_batch.py" "$@" "$csv" >"$tmp/batches" || exit 1

rc=0
n=0
: >"$tmp/posted"
while IFS= read -r doc; do
	n=$((n + 1))
	printf '%s\n' "$doc" >"$tmp/body"
	tries=0
	while :; do
		code=$(curl_api -sS -o "$tmp/resp" -D "$tmp/hdr" -w '%{http_code}' \
		    --max-time 60 -H 'Content-Type: application/json' \
		    --data-binary @"$tmp/body" "$url/eis-data/batch") || code=000
		# 503: the server is full; wait as told (Retry-After) and retry
		if [ "$code" = 503 ] && [ $tries -lt 60 ]; then
			tries=$((tries + 1))
			ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$tmp/hdr")
			sleep "${ra:-1}"
			continue
		fi
		break
	done
	case $code in
	200|202)
		id=$(json_get "$tmp/resp" batch_id)
		su=$(json_get "$tmp/resp" status_url)
		[ -n "$su" ] || su="/eis-data/batch/$id"
		echo "batch $id: HTTP $code, status $url$su"
		echo "$id $su" >>"$tmp/posted" ;;
	*)
		echo "batch $n: HTTP $code: $(cat "$tmp/resp" 2>/dev/null)" >&2
		rc=1 ;;
	esac
done <"$tmp/batches"

[ $wait = yes ] || exit $rc

deadline=$(( $(date +%s) + timeout ))
while read -r id su; do
	while :; do
		code=$(curl_api -sS -o "$tmp/st" -w '%{http_code}' --max-time 60 \
		    "$url$su") || code=000
		if [ "$code" = 200 ]; then
			line=$(python3 -c 'import json,sys
j = json.load(open(sys.argv[1]))
n, d, f = j.get("spectra", 0), j.get("done", 0), j.get("failed", 0)
print("%s %d %d %d %s" % ("complete" if d + f >= n else "pending", n, d, f, j.get("status", "?")))' "$tmp/st") || line=
			set -- $line
			if [ "${1-}" = complete ]; then
				echo "batch $id: $5, $2 spectra, $3 done, $4 failed"
				[ "$4" = 0 ] || rc=1
				break
			fi
		fi
		if [ "$(date +%s)" -ge $deadline ]; then
			echo "batch $id: not done after ${timeout}s (last HTTP $code)" >&2
			rc=1
			break
		fi
		sleep 0.2
	done
done <"$tmp/posted"
exit $rc
