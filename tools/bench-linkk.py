#!/usr/bin/python3
# impcore - Lin-KK and DRT benchmark (issue 16): impfit --linkk against
# impedance.py's linKK on the same files and options (agreement of M, mu and
# residuals, and the time of one test, best of REPS on both sides), and the
# time of a 100-point DRT.  impedance.py is not shipped: give the path of
# its source tree (the directory holding the 'impedance' package), e.g. a
# checkout of github.com/ECSHackWeek/impedance.py; it needs numpy and scipy.
# usage: tools/bench-linkk.py BUILD_DIR IMPEDANCE_PY_DIR FILE... [--reps N]
import contextlib, importlib.util, io, json, statistics, subprocess, sys, time, types
import numpy as np

args = sys.argv[1:]
reps = 5
if '--reps' in args:
    i = args.index('--reps'); reps = int(args[i + 1]); del args[i:i + 2]
build, root, files = args[0], args[1].rstrip('/') + '/impedance/', args[2:]
impfit = build + '/src/impfit/impfit'

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec); sys.modules[name] = m
    spec.loader.exec_module(m); return m
# the package's __init__ imports its plotting modules: load the three we need
for pkg in ['impedance', 'impedance.models', 'impedance.models.circuits']:
    p = types.ModuleType(pkg); p.__path__ = []; sys.modules[pkg] = p
load('impedance.models.circuits.elements', root + 'models/circuits/elements.py')
load('impedance.models.circuits.fitting', root + 'models/circuits/fitting.py')
kk = load('impedance.validation', root + 'validation.py')

worst, ratios, mism, n = 0.0, [], 0, 0
for fn in files:
    d = np.loadtxt(fn, comments='#', delimiter=',' if fn.endswith('.csv') else None)
    f, Z = d[:, 0], d[:, 1] + 1j * d[:, 2]
    for ft in ('real', 'imag', 'complex'):
        for cap in (False, True):
            best = 1e9
            for _ in range(reps):
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    M, mu, _, rr, ri = kk.linKK(f, Z, c=0.85, max_M=50, fit_type=ft, add_cap=cap)
                best = min(best, time.perf_counter() - t0)
            cmd = [impfit, '--linkk', '-f', fn, '--json', '--fit-type', ft] + (['--add-cap'] if cap else [])
            outs = [json.loads(subprocess.check_output(cmd)) for _ in range(reps)]
            o = outs[0]
            cms = min(x['linkk_ms'] for x in outs)
            diff = max([abs(o['mu'] - mu)] + list(np.abs(np.array(o['residuals_real']) - rr)) +
                       list(np.abs(np.array(o['residuals_imag']) - ri)))
            same = o['M'] == M and diff <= 1e-6
            n += 1; mism += not same
            if o['M'] == M:
                worst = max(worst, diff)
            ratios.append(best * 1e3 / cms)
            print('%-40s %-7s cap=%-5s M %2d/%2d max|diff| %.1e  py %7.2f ms  C %6.3f ms  %5.0fx%s' %
                  (fn.split('/')[-1], ft, cap, o['M'], M, diff, best * 1e3, cms, best * 1e3 / cms,
                   '' if same else '  MISMATCH'))
print('Lin-KK: %d cases, %d beyond 1e-6, worst |diff| at equal M %.2g; speed-up median %.0fx, min %.0fx'
      % (n, mism, worst, statistics.median(ratios), min(ratios)))
sim = subprocess.check_output([impfit, '--simulate', 'R(RC)(RQ)', '-v', '10,100,1e-5,50,1e-2,0.85',
                               '--points', '100', '--fmin', '0.01', '--fmax', '1e6'])
open('/tmp/bench-linkk-drt.txt', 'wb').write(sim)
ms = [json.loads(subprocess.check_output([impfit, '--drt', '-f', '/tmp/bench-linkk-drt.txt', '--json']))['drt_ms']
      for _ in range(reps)]
print('DRT of 100 points: best %.2f ms, median %.2f ms' % (min(ms), statistics.median(ms)))
