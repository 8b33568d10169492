#!/bin/sh
# impcore - every measured spectrum in tests/data fitted by impfit and by
# the SciPy reference (reffit.py, its defaults: 8 starts) with the same
# circuit: impfit reads the same points and reaches a chi-square no worse
# than 1.01 x reffit's, from the automatic start and, for the hard cases,
# from initial values off by orders of magnitude.  The ASTM dummy cell,
# whose licence keeps it out of tests/data, is fitted when ../shared/data
# has it (CI does).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
need_reffit
tmpdir
imp_watchdog 240 t-reffit-data
# the spectra, gathered in one place from tests/data and ../shared/data
D=$T/data
mkdir "$D" && cp -R "$IMP_SRCDIR/tests/data/impedancepy" "$D/" || exit 1

# file, circuit, and optional bad initial values (comma-separated)
cat > "$T/cases" <<'CASES'
astm_dummy_cell.txt R(QR)(QR) 1e3,1e-9,0.5,1,1e2,0.9,1e5
impedancepy/Circuit1_EIS_1.3col.txt R(QR)(QR)
impedancepy/Circuit1_EIS_2.3col.txt R(QR)(QR)
impedancepy/Circuit2_EIS_1.3col.txt R(QR)(QR)
impedancepy/Circuit2_EIS_2.3col.txt R(QR)(QR) 1,1e-3,0.5,1e4,1e-12,0.6,1e-2
impedancepy/Circuit3_EIS_1.3col.txt R(QR)W
impedancepy/Circuit3_EIS_2.3col.txt R(QR)W
impedancepy/exampleData.3col.txt R(RC)(C(RO)) 1,1e-6,1e3,1e-9,1e3,10,100
impedancepy/exampleDataAutolab.3col.txt RL(QR)(QR)
impedancepy/exampleDataBioLogic.3col.txt R(QR)(QR)
impedancepy/exampleDataCHInstruments.3col.txt R(QR)(QR) 1e4,1,0.3,1e-2,1e-9,0.9,1
impedancepy/exampleDataGamry.3col.txt RL(QR)(QR)
impedancepy/exampleDataGamryABORT.3col.txt RL(QR)(QR)
impedancepy/exampleDataParstat.3col.txt RL(QR)(QR)
impedancepy/exampleDataPowersuite.3col.txt RL(QR)(QR)
impedancepy/exampleDataVersaStudio.3col.txt R(QR)(QR)
impedancepy/exampleDataZPlot.3col.txt RL(QR)(QR) 1e3,1,1e-2,0.5,1e-3,1e-2,0.5,1e5
impedancepy/exampleDataZPlot_noComments.3col.txt R(QR)(QR)
impedancepy/exampleData_ignoreBelowX.3col.txt R(RC)(C(RO))
CASES

# Every data file is covered.
for f in "$D"/impedancepy/*.3col.txt; do
	grep -q "^${f#$D/} " "$T/cases" || fail "no case for ${f#$D/}"
done
# astm_dummy_cell.txt lives in ../shared/data only (no licence to copy it)
if [ -f "$IMP_SHARED/data/astm_dummy_cell.txt" ]; then
	cp "$IMP_SHARED/data/astm_dummy_cell.txt" "$D/"
else
	echo "# no $IMP_SHARED/data/astm_dummy_cell.txt: that case is left out"
	grep -v '^astm_dummy_cell.txt ' "$T/cases" >"$T/cases.new"
	mv "$T/cases.new" "$T/cases"
fi

# reffit runs two at a time: it is the slow side.
i=0
while read -r file code init; do
	i=$((i + 1))
	/usr/bin/python3 "$IMP_REFFIT" "$D/$file" "$code" > "$T/ref.$i" 2>&1 &
	[ $((i % 2)) -eq 0 ] && wait
done < "$T/cases"
wait

i=0
while read -r file code init; do
	i=$((i + 1))
	ref=$(json_num chi_square < "$T/ref.$i")
	refpts=$(json_num points < "$T/ref.$i")
	[ -n "$ref" ] || { fail "$file $code: reffit: $(cat "$T/ref.$i")"; continue; }
	out=$("$IMPFIT" -c "$code" -f "$D/$file" --json) ||
	    { fail "$file $code: impfit exit $?"; continue; }
	chi=$(echo "$out" | sed 's/"\([a-z_]*\)":/"\1": /g' | json_num chi_square)
	pts=$(echo "$out" | sed 's/"\([a-z_]*\)":/"\1": /g' | json_num points)
	[ "$pts" = "$refpts" ] || fail "$file: impfit read $pts points, reffit $refpts"
	if le "$chi" "$ref" 1.01; then
		ok "$file $code: chi2 $chi (reffit $ref)"
	else
		fail "$file $code: chi2 $chi > 1.01 x reffit $ref"
	fi
	[ -n "$init" ] || continue
	set -- $(echo "$init" | tr ',' ' ')
	vs=
	for v; do vs="$vs -v $v"; done
	out=$("$IMPFIT" -c "$code" -f "$D/$file" $vs --json) ||
	    { fail "$file $code -v $init: impfit exit $?"; continue; }
	chi=$(echo "$out" | sed 's/"\([a-z_]*\)":/"\1": /g' | json_num chi_square)
	if le "$chi" "$ref" 1.01; then
		ok "$file $code from $init: chi2 $chi"
	else
		fail "$file $code from $init: chi2 $chi > 1.01 x reffit $ref"
	fi
done < "$T/cases"
done_tests
