#!/usr/bin/python3
"""impcore - goodput benchmark: the server against the engine alone, at its
peak and overloaded, side by side in one run (issue 12).

    tools/bench-goodput.py [-d SECONDS] [-r ROUNDS] [-t THREADS] [BUILDDIR ...]

The load is the Go clients' batch that tools/impload posts: 12 spectra x 23
points, R(RC), no batch_id (every POST is new work).  For each build
directory given (default: ./build; give the old build first to compare
before and after), every round measures:

  (a) engine   impfit fitting the same spectra on THREADS processes, spectra/s
  (b) peak     wrk posting the batch on 1 and 2 connections for -d s:
               spectra fitted per second (the server's spectra_fitted counter
               over the run, read with impctl), 503s
  (c) overload the same with 128 connections
  (d) refusal  server CPU per refused POST: the queue is filled with slow
               fits (-queue-size 64, -threads 1), wrk posts on 16
               connections; the worker's HTTP thread CPU (or the whole
               worker's, on a build without a fitting thread) over the 503s
  (e) health   GET /health one at a time every 10 ms for 5 s while every
               fit is busy (the overload run's load): p50, p99, max (ms)

and after the peak run the VmRSS of every worker (the state file's pages
it touched included) and its RssAnon (its own heap and stacks).  Figures are medians over
the rounds; the builds alternate within each round so that a noisy
neighbour hits both alike.  Ratios (peak / engine, overload / peak) are the
issue's goals: >= 0.9 each; refusal < 10 us; health p99 < 10 ms.

With -p, a perf profile (cpu-clock, 999 Hz) of the workers during the peak
run, split into parse / fit / HTTP / state file / other by symbol.

Needs: impsolverd, impctl and impfit built in each BUILDDIR; wrk and
(for -p) perf.  Takes about (6 x -d + 20) s per build and round.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import math

NSPEC, NPTS = 12, 23


def spectra():
    out = []
    for i in range(NSPEC):
        r0, r1, c0 = 10.0, 100.0 * (1.0 + 0.01 * i), 1e-4
        pts = []
        for k in range(NPTS):
            fr = 10.0 ** (5.0 - 6.0 * k / (NPTS - 1))
            a = 2.0 * math.pi * fr * r1 * c0
            re = r0 + r1 / (1.0 + a * a)
            im = -r1 * a / (1.0 + a * a)
            pts.append((fr, re, im))
        out.append(pts)
    return out


def g12(x):
    return float('%.12g' % x)


def batch_body(sp):
    arr = []
    for i, pts in enumerate(sp):
        arr.append({"iteration": i, "impedance_data": {
            "timestamp": "2025-01-01T12:00:00Z",
            "frequencies": [g12(p[0]) for p in pts],
            "magnitude": [g12(math.hypot(p[1], p[2])) for p in pts],
            "phase": [g12(math.degrees(math.atan2(p[2], p[1]))) for p in pts],
            "impedance": [{"real": g12(p[1]), "imag": g12(p[2])} for p in pts]}})
    return json.dumps({"timestamp": "2025-01-01T12:00:00Z", "spectra": arr},
                      separators=(',', ':'))


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def supported(build, flags):
    """flags the build knows (an old build lacks -queue-wait, -fit-timeout)"""
    h = subprocess.run([os.path.join(build, 'src/master/impsolverd'), '--help'],
                       capture_output=True, text=True)
    h = h.stdout + h.stderr
    return [f for f in flags if f.split('=')[0].lstrip('-') in h]


class Server:
    def __init__(self, build, tmp, flags, env=None):
        self.build = build
        flags = supported(build, flags)
        self.dir = tempfile.mkdtemp(dir=tmp)
        conf = os.path.join(self.dir, 'empty.conf')
        open(conf, 'w').close()
        self.state = os.path.join(self.dir, 'state')
        self.log = open(os.path.join(self.dir, 'log'), 'w')
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(
            [os.path.join(build, 'src/master/impsolverd'), '-port=0',
             '-bind=127.0.0.1', '-quiet', '-state-dir=' + self.state,
             '-config=' + conf] + flags,
            stdout=self.log, stderr=subprocess.STDOUT, env=e,
            start_new_session=True)
        pf = os.path.join(self.state, 'impsolverd.port')
        for _ in range(200):
            if os.path.exists(pf) and os.path.getsize(pf) > 0:
                self.port = int(open(pf).read())
                try:
                    self.get('/health')
                    break
                except OSError:
                    pass
            if self.p.poll() is not None:
                raise SystemExit('impsolverd died at start: ' +
                                 open(self.log.name).read()[-2000:])
            time.sleep(0.1)
        else:
            raise SystemExit('impsolverd did not start')
        self.url = 'http://127.0.0.1:%d' % self.port

    def get(self, path, timeout=5):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        s.sendall(('GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
                   % path).encode())
        data = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        return data.split(b'\r\n\r\n', 1)[1]

    def stats(self):
        out = subprocess.run([os.path.join(self.build, 'src/impctl/impctl'),
                              '-d', self.state, 'stats', '--json'],
                             capture_output=True, text=True).stdout
        j = json.loads(out)
        c = j.get('counters', j)
        r = {}
        for k, v in (c.items() if isinstance(c, dict) else []):
            r[k] = v['total'] if isinstance(v, dict) else v
        return r

    def workers(self):
        """pids of the workers, as impctl status names them (worker.N)"""
        out = subprocess.run([os.path.join(self.build, 'src/impctl/impctl'),
                              '-d', self.state, 'status'],
                             capture_output=True, text=True).stdout
        pids = []
        for ln in out.splitlines():
            f = ln.split()
            if len(f) > 3 and f[2].startswith('worker.') and f[1].isdigit():
                pids.append(int(f[1]))
        return pids

    def depth(self):
        return json.loads(self.get('/health'))['queue_depth']

    def drain(self, limit=60):
        t = time.time() + limit
        while time.time() < t and self.depth() > 0:
            time.sleep(0.1)

    def stop(self):
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()
        self.log.close()


def cpu_ticks(pid, tid=None):
    path = '/proc/%d/task/%d/stat' % (pid, tid) if tid else '/proc/%d/stat' % pid
    f = open(path).read().rsplit(')', 1)[1].split()
    return int(f[11]) + int(f[12])


def wrk(url, conns, secs, script, latency=False):
    cmd = ['wrk', '-t%d' % min(conns, 2), '-c%d' % conns, '-d%ds' % secs,
           '--timeout', '30s', '-s', script]
    if latency:
        cmd.append('--latency')
    out = subprocess.run(cmd + [url], capture_output=True, text=True).stdout
    req = non2xx = 0
    for ln in out.splitlines():
        ln = ln.strip()
        if 'requests in' in ln:
            req = int(ln.split()[0])
        if ln.startswith('Non-2xx'):
            non2xx = int(ln.split()[-1])
    return req, non2xx, out


def engine(build, tmp, csv, procs):
    t0 = time.time()
    ps = [subprocess.Popen([os.path.join(build, 'src/impfit/impfit'), '-c',
                            'R(RC)', '-f', csv],
                           stdout=subprocess.DEVNULL) for _ in range(procs)]
    for p in ps:
        p.wait()
    return time.time() - t0


def health_probe(srv, secs):
    lat = []
    end = time.time() + secs
    while time.time() < end:
        t = time.perf_counter()
        try:
            srv.get('/health', timeout=5)
            lat.append((time.perf_counter() - t) * 1e3)
        except OSError:
            lat.append(5000.0)
        time.sleep(0.01)
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))], lat[-1]


def goodput(srv, script, conns, secs):
    srv.drain()
    a = srv.stats()
    t0 = time.time()
    req, non2xx, _ = wrk(srv.url + '/eis-data/batch', conns, secs, script)
    b = srv.stats()
    dt = time.time() - t0
    fitted = b.get('spectra_fitted', 0) - a.get('spectra_fitted', 0)
    return fitted / dt, req, non2xx


PERF_CLASSES = [
    ('parse', ('jtok', 'jnum', 'wrk_parse', 'spectrum_parse', 'check_value',
               'json_', 'jb_', 'simdjson', 'fast_float', 'parse_', 'strtod',
               'scan_', 'opts_', 'batch_parse', 'wrk_json')),
    ('fit', ('fit_', 'lm_', 'nm_', 'eval_', 'linalg', 'chol', 'init_', 'exp',
             'log', 'sincos', 'pow', 'hypot', 'atan', 'cexp', 'csqrt', '__fmax',
             '__fmin')),
    ('state file', ('rtab_', 'ring_', 'shm_', 'arena', 'rec_', 'evict')),
    ('HTTP', ('hsrv', 'conn_', 'evbuffer', 'bufferevent', 'event_', 'epoll',
              'hreq', 'reply', 'render', 'buf_', 'tcp', 'sock', 'read', 'write',
              'send', 'recv', 'ip_', 'net_', '__libc_', 'skb', 'copy_to_iter',
              'copy_from_iter', 'check_object_size')),
    ('kernel: switches, syscalls', ('finish_task_switch', 'irqentry', '_raw_spin',
                                    'syscall', 'SYSCALL', 'do_sys', 'schedule',
                                    'futex', 'clock_gettime', 'entry_')),
    ('libc mem*', ('memset', 'memcpy', 'memmove', 'memcmp', 'malloc', 'free',
                   'calloc')),
]


def perf_split(pids, secs, tmp):
    data = os.path.join(tmp, 'perf.data')
    p = subprocess.Popen(['perf', 'record', '-q', '-F', '999', '-e', 'cpu-clock',
                          '-o', data, '-p', ','.join(map(str, pids)), '--',
                          'sleep', str(secs)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, data


def perf_report(data):
    out = subprocess.run(['perf', 'report', '-i', data, '--no-children',
                          '--sort', 'sym', '--stdio', '-q'],
                         capture_output=True, text=True).stdout
    split = {k: 0.0 for k, _ in PERF_CLASSES}
    split['other'] = 0.0
    others = []
    for ln in out.splitlines():
        f = ln.split()
        if len(f) < 3 or not f[0].endswith('%'):
            continue
        pct = float(f[0][:-1])
        sym = f[-1]
        for k, pats in PERF_CLASSES:
            if any(pt in sym for pt in pats):
                split[k] += pct
                break
        else:
            split['other'] += pct
            others.append((pct, sym))
    if os.environ.get('BENCH_PERF_OTHERS'):
        say('  unclassified: ' + ', '.join('%s %.1f%%' % (s_, p_) for p_, s_ in
                                            sorted(others, reverse=True)[:15]))
    return split


def label(b):
    """a build directory's name, with its parent (main/build, wt-x/build)"""
    return '/'.join(b.rstrip('/').split('/')[-2:])


def med(v):
    return statistics.median(v) if v else float('nan')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('-d', type=int, default=5, help='seconds a run')
    ap.add_argument('-r', type=int, default=1, help='rounds')
    ap.add_argument('-t', type=int, default=2, help='worker processes')
    ap.add_argument('-p', action='store_true', help='perf profile split')
    ap.add_argument('builds', nargs='*', default=['build'])
    a = ap.parse_args()
    builds = [os.path.abspath(b) for b in a.builds]
    for b in builds:
        for p in ('src/master/impsolverd', 'src/impctl/impctl', 'src/impfit/impfit'):
            if not os.access(os.path.join(b, p), os.X_OK):
                raise SystemExit('%s: %s not built' % (b, p))
    if shutil.which('wrk') is None:
        raise SystemExit('wrk not found (apt-get install -y wrk)')
    tmp = tempfile.mkdtemp(prefix='benchgood.')
    sp = spectra()
    body = batch_body(sp)
    script = os.path.join(tmp, 'post.lua')
    with open(os.path.join(tmp, 'body.json'), 'w') as f:
        f.write(body)
    with open(script, 'w') as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = '
                '"application/json"\nlocal f = io.open("%s")\nwrk.body = '
                'f:read("*a")\nf:close()\n' % os.path.join(tmp, 'body.json'))
    # the engine's load: the same 12 spectra, 4000 times (48000 fits a process)
    csv = os.path.join(tmp, 'spectra.csv')
    reps = 4000
    with open(csv, 'w') as f:
        f.write('Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n')
        for r in range(reps):
            for i, pts in enumerate(sp):
                for fr, re, im in pts:
                    f.write('%.12g,%.12g,%.12g,%d\n' % (fr, re, im, r * NSPEC + i))
    # slow fits to fill a queue (refusal cost)
    slow = {"circuit": "R(QR)(QR)(QR)", "method": "nelder-mead",
            "max_iterations": 100000, "spectra": [
                {"iteration": i, "impedance_data": {
                    "frequencies": [p[0] for p in sp[0]] * 40,
                    "impedance": [{"real": p[1], "imag": p[2]} for p in sp[0]] * 40}}
                for i in range(64)]}
    slowf = os.path.join(tmp, 'slow.json')
    with open(slowf, 'w') as f:
        json.dump(slow, f)

    res = {b: {} for b in builds}

    def add(b, k, v):
        res[b].setdefault(k, []).append(v)

    try:
        for rnd in range(a.r):
            say('round %d/%d' % (rnd + 1, a.r))
            for b in (builds if rnd % 2 == 0 else builds[::-1]):
                name = label(b)
                dt = engine(b, tmp, csv, a.t)
                add(b, 'engine', a.t * reps * NSPEC / dt)
                say('  %s engine: %.0f spectra/s' % (name, res[b]['engine'][-1]))
                # results expire after 2 s: the runs measure fitting, and a
                # table full of results kept for polling answers 503 (honestly)
                srv = Server(b, tmp, ['-threads=%d' % a.t, '-results=1000000',
                                      '-retention=2s'])
                try:
                    for c in (1, 2):
                        if c == 1 and a.p:
                            pp, pdata = perf_split(srv.workers(), a.d, tmp)
                        g, req, n5 = goodput(srv, script, c, a.d)
                        if c == 1 and a.p:
                            pp.wait()
                            add(b, 'perf', perf_report(pdata))
                        add(b, 'peak%d' % c, g)
                        say('  %s peak c=%d: %.0f spectra/s (%d POSTs, %d non-2xx)'
                            % (name, c, g, req, n5))
                    rss, anon = [], []
                    for w in srv.workers():
                        for ln in open('/proc/%d/status' % w):
                            if ln.startswith('VmRSS:'):
                                rss.append(int(ln.split()[1]) / 1024.0)
                            if ln.startswith('RssAnon:'):
                                anon.append(int(ln.split()[1]) / 1024.0)
                    add(b, 'rss', max(rss) if rss else float('nan'))
                    add(b, 'anon', max(anon) if anon else float('nan'))
                    srv.drain()
                    # overload, with /health probed beside it
                    import threading
                    hp = {}
                    th = threading.Thread(target=lambda: hp.update(
                        v=health_probe(srv, max(1, a.d - 2))))
                    a0 = srv.stats()
                    t0 = time.time()
                    wr = {}
                    tw = threading.Thread(target=lambda: wr.update(v=wrk(
                        srv.url + '/eis-data/batch', 128, a.d, script)))
                    tw.start()
                    time.sleep(1)
                    th.start()
                    tw.join()
                    th.join()
                    b1 = srv.stats()
                    g = (b1.get('spectra_fitted', 0) - a0.get('spectra_fitted', 0)) / (time.time() - t0)
                    add(b, 'over', g)
                    add(b, 'h50', hp['v'][0])
                    add(b, 'h99', hp['v'][1])
                    add(b, 'hmax', hp['v'][2])
                    say('  %s overload c=128: %.0f spectra/s (%d POSTs, %d non-2xx); '
                        '/health p50 %.2f p99 %.2f max %.2f ms' % (
                            name, g, wr['v'][0], wr['v'][1], *hp['v']))
                finally:
                    srv.stop()
                # refusal cost: a queue full of slow fits
                srv = Server(b, tmp, ['-threads=1', '-queue-size=64',
                                      '-fit-timeout=60s', '-queue-wait=0'])
                try:
                    subprocess.run(['curl', '-s', '-o', '/dev/null', '--data-binary',
                                    '@' + slowf, srv.url + '/eis-data/batch'])
                    time.sleep(0.5)
                    w = srv.workers()[0]
                    threaded = len(os.listdir('/proc/%d/task' % w)) > 1
                    c0 = cpu_ticks(w, w if threaded else None)
                    req, n5, _ = wrk(srv.url + '/eis-data/batch', 16, a.d, script)
                    c1 = cpu_ticks(w, w if threaded else None)
                    hz = os.sysconf('SC_CLK_TCK')
                    us = (c1 - c0) / hz * 1e6 / n5 if n5 else float('nan')
                    add(b, 'refuse', us)
                    say('  %s refusals: %d of %d POSTs, %.1f us of %s CPU each' % (
                        name, n5, req, us, 'HTTP thread' if threaded else 'worker'))
                finally:
                    srv.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print('goodput, 12 x 23-point R(RC) batches, %d workers, %d s runs, '
          'median of %d round(s)' % (a.t, a.d, a.r))
    hdr = '%-28s' % ''
    for b in builds:
        hdr += '%16s' % label(b)[-15:]
    print(hdr)
    rows = [('(a) engine, spectra/s', 'engine', '%.0f'),
            ('(b) peak c=1, spectra/s', 'peak1', '%.0f'),
            ('(b) peak c=2, spectra/s', 'peak2', '%.0f'),
            ('(c) overload c=128', 'over', '%.0f'),
            ('refusal, us CPU', 'refuse', '%.1f'),
            ('/health p50 ms (busy)', 'h50', '%.2f'),
            ('/health p99 ms (busy)', 'h99', '%.2f'),
            ('/health max ms (busy)', 'hmax', '%.2f'),
            ('worker VmRSS MB (max)', 'rss', '%.1f'),
            ('worker RssAnon MB (max)', 'anon', '%.1f')]
    for title, k, fmt in rows:
        ln = "%-28s" % title
        for b in builds:
            ln += '%16s' % (fmt % med(res[b].get(k, [])))
        print(ln)
    for b in builds:
        r = res[b]
        peak = max(med(r['peak1']), med(r['peak2']))
        print('%s: peak/engine %.2f (goal >= 0.9), overload/peak %.2f (goal >= 0.9)'
              % (label(b), peak / med(r['engine']), med(r['over']) / peak))
        if r.get('perf'):
            sp_ = r['perf'][-1]
            print('  worker CPU split at peak (perf, last round): ' + ', '.join(
                '%s %.0f%%' % (k, v) for k, v in sp_.items()))


if __name__ == '__main__':
    main()
