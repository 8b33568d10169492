#!/bin/sh
# impcore - print the path of a promtool, fetching one if needed.
#
# promtool ships in Debian's prometheus package, whose install may start a
# Prometheus service; we only unpack the .deb (apt-get download; dpkg -x)
# into a cache under the build directory, once.  Exit 1 (nothing printed)
# when there is no promtool and none can be fetched (no network, not
# Debian): the caller then skips its check.
: "${IMP_BUILDDIR:=$(pwd)}"
cache=$IMP_BUILDDIR/.cache/promtool

if command -v promtool >/dev/null 2>&1; then
	command -v promtool
	exit 0
fi
if [ -x "$cache/usr/bin/promtool" ]; then
	echo "$cache/usr/bin/promtool"
	exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/promtool.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# apt-get download writes to the current directory; _apt may not read $work
chmod 0777 "$work"
(
	cd "$work" || exit 1
	apt-get download prometheus >/dev/null 2>&1 ||
	    { apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1; }
) || exit 1
deb=$(ls "$work"/prometheus_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || exit 1
new=$cache.$$
mkdir -p "$new" && dpkg -x "$deb" "$new" || exit 1
[ -x "$new/usr/bin/promtool" ] || exit 1
# keep only the tool: the server binary is most of the package
rm -f "$new/usr/bin/prometheus"
# parallel tests may race here: the first rename wins, the others use it
mkdir -p "$(dirname "$cache")"
mv -T "$new" "$cache" 2>/dev/null || rm -rf "$new"
[ -x "$cache/usr/bin/promtool" ] || exit 1
echo "$cache/usr/bin/promtool"
