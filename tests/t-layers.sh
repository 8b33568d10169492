#!/bin/sh
# impcore - t-layers: the libraries keep to their stack (src/README.md).
# The build links each layer whole against the layers below it only
# (src/*/layercheck); this checks the built archives with nm as well
# (tools/depgraph.py --check), that the check does catch an upward call
# (a copy of libimplib.a with one object calling shm_path() must fail it,
# and fail to link the way layercheck links), and that impctl, which links
# render and below, loads no libcurl, libevent or jansson.
# Exit 0 pass, 1 fail, 77 skip.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
B=$IMP_BUILDDIR
S=$IMP_SRCDIR
command -v nm >/dev/null 2>&1 || skip "no nm"
tmpdir t-layers
tmp=$T

out=$(/usr/bin/python3 "$S/tools/depgraph.py" "$B" --check 2>&1)
rc=$?
echo "$out" | sed 's/^/  /'
if [ $rc -eq 0 ] && echo "$out" | grep -q '^  state   -> '; then
	ok "no upward edge between the built libraries"
else
	fail "depgraph --check: rc $rc"
fi

mkdir -p "$tmp/src/lib"
cp "$B/src/lib/libimplib.a" "$tmp/src/lib/"
cat > "$tmp/up.c" <<'EOC'
const char *shm_path(const void *);
int lib_upcall(void);
int lib_upcall(void) { return shm_path((const void *)0) != (const char *)0; }
EOC
cat > "$tmp/main.c" <<'EOC'
int main(void) { return 0; }
EOC
CC=${CC:-cc}
if $CC -c -o "$tmp/libimplib_a-up.o" "$tmp/up.c" &&
    ar r "$tmp/src/lib/libimplib.a" "$tmp/libimplib_a-up.o" 2>/dev/null; then
	mkdir -p "$tmp/src/state" && cp "$B/src/state/libimpstate.a" "$tmp/src/state/"
	out=$(/usr/bin/python3 "$S/tools/depgraph.py" "$tmp" --check 2>&1)
	if [ $? -ne 0 ] && echo "$out" | grep -q 'upward: lib -> state (up -> shm)'; then
		ok "an upward call in lib is reported: $(echo "$out" | grep upward)"
	else
		fail "an upward call in lib went unseen: $out"
	fi
	if $CC -o "$tmp/lc" "$tmp/main.c" -Wl,--whole-archive,"$tmp/src/lib/libimplib.a",--no-whole-archive -lm >"$tmp/ld.log" 2>&1; then
		fail "the lib layer linked alone with an upward call in it"
	elif grep -q "undefined reference to .shm_path" "$tmp/ld.log"; then
		ok "the layer link refuses it: $(grep -m1 -o "undefined reference to .shm_path." "$tmp/ld.log")"
	else
		fail "the layer link failed for another reason: $(head -3 "$tmp/ld.log")"
	fi
else
	fail "could not build the upward object"
fi

# impctl: the real binary behind libtool's wrapper
ctl=$B/src/impctl/.libs/impctl
[ -x "$ctl" ] || ctl=$B/src/impctl/impctl
libs=$(LD_LIBRARY_PATH="$B/src/fit/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$ctl" 2>&1)
n=$(echo "$libs" | wc -l)
if echo "$libs" | grep -Eq 'libcurl|libevent|libjansson'; then
	fail "impctl loads $(echo "$libs" | grep -Eo 'lib(curl|event|jansson)[^ ]*' | tr '\n' ' ')"
elif echo "$libs" | grep -q 'libc\.so'; then
	ok "impctl loads $n objects, none of libcurl, libevent, jansson"
else
	fail "ldd impctl: $libs"
fi

done_tests
