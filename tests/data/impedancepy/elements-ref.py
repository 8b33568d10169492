# Writes elements-ref.txt: impedances computed by impedance.py itself
# (not part of the build; see ../README for how it was run).
import sys, numpy as np
from impedance.models.circuits import elements as E
from impedance.models.circuits import CustomCircuit
f = list(np.logspace(-3, 6, 19))
cases = [
 ("R", "R0", [12.5]), ("C", "C1", [3.3e-5]), ("L", "L1", [2.2e-6]),
 ("W", "W1", [45.0]),
 ("Wo", "Wo1", [0.05, 100.0]), ("Wo", "Wo2", [30.0, 0.02]),
 ("Ws", "Ws1", [0.05, 100.0]), ("Ws", "Ws2", [30.0, 0.02]),
 ("CPE", "CPE1", [1e-4, 0.85]), ("CPE", "CPE2", [2e-6, 1.0]),
 ("La", "La1", [1e-6, 0.9]), ("La", "La2", [3e-3, 0.5]),
 ("G", "G1", [20.0, 1e-3]), ("Gs", "Gs1", [20.0, 1e-3, 0.4]),
 ("Gs", "Gs2", [5.0, 0.1, 3.0]),
 ("K", "K1", [50.0, 1e-4]),
 ("Zarc", "Zarc1", [50.0, 1e-3, 0.8]), ("Zarc", "Zarc2", [7.0, 2.0, 1.0]),
 ("TLMQ", "TLMQ1", [10.0, 1e-4, 0.9]), ("TLMQ", "TLMQ2", [300.0, 5e-3, 0.6]),
 ("T", "T1", [10.0, 5.0, 2.0, 1e-5]), ("T", "T2", [3.0, 7.0, 0.5, 1e-3]),
]
out = sys.stdout
out.write("# impedance.py 0b302ca9 (MIT) elements.py and CustomCircuit.predict,\n"
          "# numpy %s: circuit, parameters, then 'f Z' Z'' lines.\n" % np.__version__)
def emit(code, p, z):
    out.write("circuit %s %d %s\n" % (code, len(p), " ".join("%.17g" % v for v in p)))
    for fi, zi in zip(f, z):
        out.write("%.17g %.17g %.17g\n" % (fi, zi.real, zi.imag))
for typ, name, p in cases:
    z = getattr(E, typ)(p, f)
    emit(name, p, np.asarray(z))
circs = [
 ("R0-p(R1,C1)-p(R2-Wo1,C2)", [.01, .01, 100, .01, .05, 100, 1]),
 ("L0-R0-p(R1,CPE1)-p(K1,Zarc1)-W1", [1e-6, 5, 20, 1e-4, 0.8, 10, 1e-3, 15, 1e-2, 0.7, 3]),
 ("p(Ws1-La1,p(G1,Gs1)-TLMQ1)-T1", [10, 0.1, 1e-4, 0.7, 20, 1e-3, 30, 1e-2, 1.5, 10, 1e-4, 0.9, 10, 5, 2, 1e-5]),
]
for code, p in circs:
    cc = CustomCircuit(code, initial_guess=p)
    z = cc.predict(np.array(f), use_initial=True)
    emit(code, p, z)
