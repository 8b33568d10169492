#!/bin/sh
# impcore - the file readers (src/data) through `impfit --read`:
# - every example file of impedance.py reads as impedance.py's own readers
#   read it (tests/data/readers/impedancepy: the originals and their
#   3-column conversions);
# - each delimited-text and multi-spectrum variant, and the BioLogic,
#   Gamry (drift correction) and UTF-16 ones, reads as its .expect.csv says;
# - broken files are errors naming the line and what was expected (exit 2);
#   bytes no reader knows are refused as such;
# - --format forces a reader; impfit -f fits a file of any format.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
D=$IMP_SRCDIR/tests/data/readers
tmpdir

for conv in "$D"/impedancepy/*.3col.txt; do
	base=$(basename "$conv" .3col.txt)
	orig=$(ls "$D"/impedancepy/"$base".* | grep -v '\.3col\.txt$')
	if ! "$IMPFIT" --read "$orig" >"$T/out.csv" 2>"$T/err"; then
		fail "$base: impfit --read: $(cat "$T/err")"
	elif msg=$(python3 "$IMP_SRCDIR/tests/readcmp.py" "$T/out.csv" "$conv"); then
		ok "$(basename "$orig") reads as impedance.py reads it ($(($(wc -l <"$T/out.csv") - 1)) points; $(sed 's/^impfit: [^:]*: //' "$T/err"))"
	else
		fail "$(basename "$orig"): $msg"
	fi
done

for exp in "$D"/variants/*.expect.csv; do
	f=${exp%.expect.csv}
	if ! "$IMPFIT" --read "$f" >"$T/out.csv" 2>"$T/err"; then
		fail "$(basename "$f"): impfit --read: $(cat "$T/err")"
	elif msg=$(python3 "$IMP_SRCDIR/tests/readcmp.py" "$T/out.csv" "$exp"); then
		ok "$(basename "$f") ($(sed 's/^impfit: [^:]*: //' "$T/err"))"
	else
		fail "$(basename "$f"): $msg"
	fi
done

# broken files: exit 2, the message names the line and what was expected
for e in "$D"/variants/*.error "$D"/impedancepy/exampleDataBioLogic_MissingFreq.mpt; do
	case $e in
	*.error) f=${e%.error}; want=$(cat "$e") ;;
	*) f=$e; want=":61: biologic: expected the column names freq/Hz" ;;
	esac
	"$IMPFIT" --read "$f" >"$T/out.csv" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 2 ] && grep -qF -- "$want" "$T/err"; then
		ok "$(basename "$f"): refused: $(cat "$T/err")"
	else
		fail "$(basename "$f"): exit $rc, '$(cat "$T/err")', expected 2 and '$want'"
	fi
done

# bytes no reader knows (binary), an empty file, an unknown --format
# (an executable's first bytes: impfit's own, behind libtool's wrapper
# script when it links the shared libimpfit)
elf=$(dirname "$IMPFIT")/.libs/impfit
[ -f "$elf" ] || elf=$IMPFIT
head -c 3000 "$elf" >"$T/blob.bin"
: >"$T/empty.txt"
"$IMPFIT" --read "$T/blob.bin" >/dev/null 2>"$T/err" && fail "a binary file read"
grep -q "no reader knows its format" "$T/err" && ok "binary: $(cat "$T/err")" ||
    fail "binary: '$(cat "$T/err")'"
"$IMPFIT" --read "$T/empty.txt" >/dev/null 2>"$T/err" && fail "an empty file read"
grep -q "empty file" "$T/err" && ok "empty: $(cat "$T/err")" || fail "empty: '$(cat "$T/err")'"
"$IMPFIT" --read "$D/variants/comma-header.csv" --format nosuch >/dev/null 2>"$T/err" &&
    fail "--format nosuch read"
grep -q "unknown format 'nosuch'" "$T/err" && ok "--format nosuch: $(cat "$T/err")" ||
    fail "--format nosuch: '$(cat "$T/err")'"

# --format forces a reader: a Gamry file as ZPlot is broken, not guessed
"$IMPFIT" --read "$D/impedancepy/exampleDataGamry.DTA" --format zplot >/dev/null 2>"$T/err" &&
    fail "a Gamry file read as zplot"
grep -q "zplot: expected a row of numbers" "$T/err" && ok "--format zplot on a DTA: $(cat "$T/err")" ||
    fail "--format zplot on a DTA: '$(cat "$T/err")'"
"$IMPFIT" --read "$D/variants/comma-header.csv" --format csv >/dev/null 2>"$T/err" ||
    fail "--format csv: $(cat "$T/err")"

# impfit -f fits any format: a ZPlot file of a dummy circuit and an mpt
for f in Circuit1_EIS_1.z exampleDataBioLogic.mpt; do
	"$IMPFIT" -c 'R(RC)' -f "$D/impedancepy/$f" --json >"$T/fit.json" 2>"$T/err"
	rc=$?
	if [ "$rc" -le 1 ] && grep -q '"chi_square"' "$T/fit.json"; then
		ok "impfit -f $f fits (exit $rc)"
	else
		fail "impfit -f $f: exit $rc: $(cat "$T/err")"
	fi
done
# the several spectra of one file are fitted one by one, numbered
"$IMPFIT" -c 'R(RC)' -f "$D/variants/multi-number.csv" --json >"$T/fit.json" 2>"$T/err"
n=$(grep -c '"chi_square"' "$T/fit.json")
[ "$n" -eq 3 ] && ok "impfit -f multi-number.csv: 3 fits" || fail "multi-number.csv: $n fits: $(cat "$T/err")"
done_tests
