#!/usr/bin/python3
# impcore - whk_sink: a scriptable HTTP webhook receiver for the tests.
#
# Records every request (time, method, path, headers, body, what it did) as
# one JSON line, and answers as told.  A step is one of
#   ok | NNN (that status) | slow=S (200 after S seconds; logged as action
#   "slow") | hang (no answer for --hang seconds, then the connection closes)
#   | redirect=NNN:URL (status NNN with "Location: URL", URL as given, so
#   relative or absolute; logged as action "redirect", with "location")
# optionally followed by "+close=S": after taking the step, stop listening
# for S seconds (connections are refused: the port stays bound, not listening).
#   --mode STEP                  default step (ok)
#   --mode-file F                if F exists and is not empty, its content is
#                                the default step (read at every request)
#   --script STEPS               per webhook-id, the steps of its first
#                                attempts, comma-separated, then the default
#   --path-mode PREFIX=STEP      requests whose path starts with PREFIX always
#                                get STEP (repeatable)
#   --delay S                    every answer waits S seconds (a slow receiver)
#   --hang S                     how long "hang" holds a request unanswered
#   --closed                     start bound but not listening (refusing)
#   --log-connections            also log each accepted connection (method
#                                "-", action "connect"): a receiver that
#                                must not even be dialled
# Signals: SIGUSR1 stops listening (also drops idle keep-alive connections,
# so nothing gets through), SIGUSR2 listens again, SIGTERM exits.
# The port (--port, 0 = any) is written to --port-file once bound.
import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--port-file")
ap.add_argument("--log", required=True)
ap.add_argument("--mode", default="ok")
ap.add_argument("--mode-file")
ap.add_argument("--script", default="")
ap.add_argument("--path-mode", action="append", default=[])
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--hang", type=float, default=5.0)
ap.add_argument("--closed", action="store_true")
ap.add_argument("--log-connections", action="store_true")
args = ap.parse_args()

script = [s for s in args.script.split(",") if s]
path_modes = [pm.split("=", 1) for pm in args.path_mode]
lock = threading.Lock()
seen = {}			# webhook-id -> requests so far
conns = set()			# open client connections
idle = set()			# ... of which between requests
logf = open(args.log, "a", buffering=1)
state = {"want_open": not args.closed, "reopen_at": None}


def log(rec):
    with lock:
        logf.write(json.dumps(rec) + "\n")
        logf.flush()


def default_step():
    if args.mode_file:
        try:
            with open(args.mode_file) as f:
                m = f.read().strip()
            if m:
                return m
        except OSError:
            pass
    return args.mode


def close_for(seconds):
    with lock:
        state["want_open"] = False
        state["reopen_at"] = time.time() + seconds


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"	# keep-alive, like a real receiver

    def log_message(self, *a):
        pass

    def handle_one_request(self):
        with lock:
            idle.add(self.connection)
        try:
            super().handle_one_request()
        finally:
            with lock:
                idle.discard(self.connection)

    def parse_request(self):
        ok = super().parse_request()
        with lock:
            idle.discard(self.connection)
        return ok

    def answer(self, code, location=None):
        body = b'{"ok": true}' if code // 100 == 2 else b'{"ok": false}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        wid = self.headers.get("webhook-id", "")
        with lock:
            k = seen.get(wid, 0)
            seen[wid] = k + 1
        step = script[k] if k < len(script) else default_step()
        for prefix, mode in path_modes:
            if self.path.startswith(prefix):
                step = mode
        close = None
        if "+close=" in step:
            step, c = step.split("+close=", 1)
            close = float(c)
        delay = args.delay
        code = 200
        location = None
        if step.startswith("slow="):
            delay += float(step[5:])
            action = "slow"
        elif step.startswith("redirect="):
            st, location = step[9:].split(":", 1)
            code = int(st)
            action = "redirect"
        else:
            action = "200" if step == "ok" else step
            code = int(action) if action != "hang" else 0
        rec = {"t": time.time(), "method": "POST", "path": self.path,
               "id": wid, "seq": k + 1, "action": action,
               "headers": {h.lower(): v for h, v in self.headers.items()},
               "body": body}
        if location is not None:
            rec["code"] = code
            rec["location"] = location
        log(rec)
        if close is not None:
            close_for(close)
        if action == "hang":
            time.sleep(args.hang)
            self.close_connection = True
            return
        if delay > 0:
            time.sleep(delay)
        self.answer(code, location)

    def do_GET(self):
        log({"t": time.time(), "method": "GET", "path": self.path, "action": "200"})
        self.answer(200)


def serve(conn, addr):
    if args.log_connections:
        log({"t": time.time(), "method": "-", "path": "", "action": "connect"})
    with lock:
        conns.add(conn)
    try:
        Handler(conn, addr, None)
    except OSError:
        pass
    finally:
        with lock:
            conns.discard(conn)
            idle.discard(conn)
        try:
            conn.close()
        except OSError:
            pass


def bound_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    return s


def on_usr1(sig, frm):
    with lock:
        state["want_open"] = False
        state["reopen_at"] = None


def on_usr2(sig, frm):
    with lock:
        state["want_open"] = True
        state["reopen_at"] = None


signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))

sock = bound_socket(args.port)
port = sock.getsockname()[1]
listening = False
if args.port_file:
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(args.port_file + ".tmp", args.port_file)

while True:
    with lock:
        if state["reopen_at"] is not None and time.time() >= state["reopen_at"]:
            state["want_open"] = True
            state["reopen_at"] = None
        want = state["want_open"]
        drop = list(idle) if not want else []
    if want and not listening:
        sock.listen(128)
        listening = True
    elif not want and listening:
        # a bound socket that does not listen keeps the port and makes the
        # kernel refuse connections (RST): what a stopped receiver does
        sock.close()
        while True:
            try:
                sock = bound_socket(port)
                break
            except OSError:
                time.sleep(0.01)
        listening = False
    for c in drop:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    if not listening:
        time.sleep(0.01)
        continue
    r, _, _ = select.select([sock], [], [], 0.02)
    if r:
        try:
            conn, addr = sock.accept()
        except OSError:
            continue
        threading.Thread(target=serve, args=(conn, addr), daemon=True).start()
