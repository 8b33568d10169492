#!/usr/bin/env python3
# impcore - csv_to_batch.py: convert a CSV of impedance spectra into the
# POST /eis-data/batch JSON the Go clients send (python3 stdlib only).
#
# Input: a header line naming Frequency_Hz, Z_real, Z_imag and, optionally,
# Spectrum_Number (any column order, case-insensitive); one spectrum per
# Spectrum_Number, in order of first appearance, iteration = its index.
# Output: one batch JSON document (or, with --chunk N, one per N spectra:
# several JSON lines on stdout, or OUT-1.json, OUT-2.json, ... files).
"""Convert a Frequency_Hz,Z_real,Z_imag,Spectrum_Number CSV to batch JSON."""

import argparse
import csv
import json
import math
import os
import sys
import time

COLUMNS = ("frequency_hz", "z_real", "z_imag")


def die(msg):
    print("csv_to_batch: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read_spectra(f, name):
    """Return [(spectrum_number, [(freq, re, im), ...]), ...] in file order."""
    rows = csv.reader(f)
    header = None
    for header in rows:
        if header and not header[0].lstrip().startswith("#"):
            break
    if not header:
        die("%s: empty file" % name)
    cols = [h.strip().lower() for h in header]
    for c in COLUMNS:
        if c not in cols:
            die("%s: no %s column in header %s" % (name, c, ",".join(header)))
    idx = [cols.index(c) for c in COLUMNS]
    snum = cols.index("spectrum_number") if "spectrum_number" in cols else None
    spectra = {}  # dicts keep insertion order: first appearance wins
    for row in rows:
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        where = "%s:%d" % (name, rows.line_num)
        try:
            fr, re_, im = (float(row[i]) for i in idx)
        except (ValueError, IndexError):
            die("%s: bad row %r" % (where, row))
        if not all(math.isfinite(v) for v in (fr, re_, im)) or fr <= 0:
            die("%s: frequency must be > 0 and all values finite" % where)
        key = row[snum].strip() if snum is not None and snum < len(row) else "0"
        spectra.setdefault(key, []).append((fr, re_, im))
    if not spectra:
        die("%s: no data rows" % name)
    return list(spectra.items())


def spectrum_json(iteration, points, stamp):
    return {
        "iteration": iteration,
        "impedance_data": {
            "timestamp": stamp,
            "frequencies": [p[0] for p in points],
            "magnitude": [math.hypot(p[1], p[2]) for p in points],
            "phase": [math.degrees(math.atan2(p[2], p[1])) for p in points],
            "impedance": [{"real": p[1], "imag": p[2]} for p in points],
        },
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv", help="input CSV file ('-' for stdin)")
    ap.add_argument("output", nargs="?", default="-",
                    help="output file (default: stdout)")
    ap.add_argument("--batch-id", help="batch id (default csv-batch-<epoch>);"
                    " with --chunk, chunk k gets <id>-<k>")
    ap.add_argument("--circuit", help="circuit code (CDC), e.g. 'R(QR)'")
    ap.add_argument("--chunk", type=int, default=0, metavar="N",
                    help="at most N spectra per batch")
    ap.add_argument("--timestamp", help="RFC 3339 timestamp (default now)")
    a = ap.parse_args()
    if a.chunk < 0:
        die("--chunk must be >= 0")

    if a.csv == "-":
        spectra = read_spectra(sys.stdin, "stdin")
    else:
        try:
            with open(a.csv, newline="") as f:
                spectra = read_spectra(f, a.csv)
        except OSError as e:
            die(str(e))
    stamp = a.timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    base_id = a.batch_id or "csv-batch-%d" % int(time.time())
    items = [spectrum_json(i, pts, stamp) for i, (_, pts) in enumerate(spectra)]
    size = a.chunk or len(items)
    chunks = [items[i:i + size] for i in range(0, len(items), size)]

    docs = []
    for k, chunk in enumerate(chunks, 1):
        doc = {"batch_id": base_id if len(chunks) == 1 else "%s-%d" % (base_id, k),
               "timestamp": stamp}
        if a.circuit:
            doc["circuit"] = a.circuit
        # iterations stay global, so a result maps back to its spectrum
        doc["spectra"] = chunk
        docs.append(doc)

    if a.output == "-":
        for doc in docs:
            print(json.dumps(doc))
        return
    root, ext = os.path.splitext(a.output)
    for k, doc in enumerate(docs, 1):
        path = a.output if len(docs) == 1 else "%s-%d%s" % (root, k, ext or ".json")
        with open(path, "w") as f:
            json.dump(doc, f)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
