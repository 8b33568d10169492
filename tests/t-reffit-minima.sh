#!/bin/sh
# impcore - local minima: spectra of two arcs that can swap roles (time
# constants about two decades apart, 1% noise).  From the automatic start
# impfit reaches the lowest chi-square reffit.py finds with 30 starts
# (within 1.01 x), and so it does from bad initial values.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
need_reffit
tmpdir
imp_watchdog 240 t-reffit-minima

# circuit, true values, bad initial values
cat > "$T/cases" <<'CASES'
R(QR)(QR) 10,1e-5,0.9,100,1e-3,0.8,200 1e3,1e-2,0.5,1,1e-8,0.95,1e4
R(RC)(RC) 10,50,1e-6,200,1e-4 1,1e4,1e-2,1,1e-9
R(CR)(QR) 5,1e-6,50,1e-3,0.85,50 100,1e-3,1e3,1e-7,0.5,1
R(Q(R(QR))) 10,1e-5,0.9,50,1e-3,0.8,200 1e-2,1e-2,0.5,1e4,1e-8,0.5,1
CASES

i=0
while read -r code truth init; do
	i=$((i + 1))
	set -- $(echo "$truth" | tr ',' ' ')
	vs=
	for v; do vs="$vs -v $v"; done
	"$IMPFIT" --simulate "$code" $vs --noise 0.01 --seed $((i + 10)) \
	    > "$T/s.$i" || fail "simulate $code"
	/usr/bin/python3 "$IMP_REFFIT" "$T/s.$i" "$code" --starts 30 \
	    > "$T/ref.$i" 2>&1 &
done < "$T/cases"
wait

i=0
while read -r code truth init; do
	i=$((i + 1))
	ref=$(json_num chi_square < "$T/ref.$i")
	[ -n "$ref" ] || { fail "$code: reffit: $(cat "$T/ref.$i")"; continue; }
	for start in auto "$init"; do
		vs=
		if [ "$start" != auto ]; then
			for v in $(echo "$start" | tr ',' ' '); do
				vs="$vs -v $v"
			done
		fi
		chi=$("$IMPFIT" -c "$code" -f "$T/s.$i" $vs --json |
		    sed 's/"\([a-z_]*\)":/"\1": /g' | json_num chi_square)
		if le "$chi" "$ref" 1.01; then
			ok "$code from $start: chi2 $chi (reffit, 30 starts: $ref)"
		else
			fail "$code from $start: chi2 $chi > 1.01 x reffit $ref"
		fi
	done
done < "$T/cases"
done_tests
