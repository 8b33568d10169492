#!/bin/sh
# impcore - t-srv-symlink (issue 13, item 1): links planted in the state
# directory are not followed.  The master (often root) opened
# impsolverd.state and impsolverd.port.tmp following links, so whoever can
# write the state directory could make it create, truncate or chown any
# file.  A planted link as the state file is refused and its target left
# alone; one as the port file's temporary is replaced, its target left
# alone; a state directory writable by group or others is refused.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:?IMP_SRCDIR not set}/tests/srv-lib.sh"
srv_init t-srv-symlink 120

# start_fails WHAT: the daemon must exit non-zero (not by a signal) in 20 s
start_fails() {
	setsid "$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" \
	    -port=0 -bind=127.0.0.1 -quiet >>"$T/log" 2>&1 &
	p=$!
	SRV_PGIDS="$SRV_PGIDS $p"
	i=0
	while kill -0 "$p" 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1; i=$((i + 1))
	done
	if kill -0 "$p" 2>/dev/null; then
		srv_fail "$1: the daemon started"
		kill -TERM "$p"; wait "$p"
		return 1
	fi
	wait "$p"; rc=$?
	[ $rc -ne 0 ] && [ $rc -lt 128 ] || { srv_fail "$1: exit status $rc"; return 1; }
	return 0
}

# 1. impsolverd.state is a link to a file of somebody else's
mkdir -m 750 "$STATE"
: >"$T/victim"
echo precious >"$T/victim2"
ln -s "$T/victim" "$STATE/impsolverd.state"
if start_fails "state file is a link"; then
	[ ! -s "$T/victim" ] && srv_ok "a link as the state file: refused, its target untouched ($(grep -m1 'state file' "$T/log" | sed 's/.*master: //'))" ||
	    srv_fail "the link's target was written ($(stat -c %s "$T/victim") bytes)"
fi
[ -L "$STATE/impsolverd.state" ] && srv_ok "the link is still a link" || srv_fail "the link was replaced"
rm -f "$STATE/impsolverd.state"

# 2. a dangling link (the target would be created)
ln -s "$T/created-by-root" "$STATE/impsolverd.state"
start_fails "state file is a dangling link" &&
    { [ ! -e "$T/created-by-root" ] && srv_ok "a dangling link: refused, nothing created" ||
    srv_fail "the dangling link's target was created"; }
rm -f "$STATE/impsolverd.state"

# 3. impsolverd.port.tmp is a link: the port file is written, not its target
ln -s "$T/victim2" "$STATE/impsolverd.port.tmp"
srv_start
[ "$(cat "$T/victim2")" = precious ] && srv_ok "port.tmp link: its target untouched" ||
    srv_fail "port.tmp link: its target now says $(cat "$T/victim2")"
[ -f "$STATE/impsolverd.port" ] && [ ! -L "$STATE/impsolverd.port" ] &&
    [ "$(cat "$STATE/impsolverd.port")" = "$SRV_PORT" ] &&
    srv_ok "the port file is a plain file with the port" ||
    srv_fail "port file: $(ls -l "$STATE/impsolverd.port")"
srv_stop || srv_fail "SIGTERM: status $?"

# 4. a state directory others can write is refused
chmod 770 "$STATE"
start_fails "group-writable state dir" &&
    { grep -q "state directory $STATE is writable by group or others" "$T/log" &&
    srv_ok "a group-writable state directory: refused" ||
    srv_fail "no clear message: $(tail -1 "$T/log")"; }
chmod 757 "$STATE"
start_fails "world-writable state dir" && srv_ok "a world-writable one too"
chmod 750 "$STATE"
srv_start
srv_ok "mode 750 again: serving"
srv_stop || srv_fail "SIGTERM: status $?"
srv_done
