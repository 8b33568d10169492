#!/usr/bin/python3
"""The dependency graph of impcore's libraries, read off the built objects.

Usage: tools/depgraph.py [BUILDDIR] [--modules] [--check]

For every archive of the layers (src/lib, prof, state, net, render, daemon)
and the other internal libraries (fit, data, plot), nm lists what each
object defines and what it needs; an edge A -> B means an object of A needs
a symbol an object of B defines.  Prints the layer graph (and with
--modules the module graph: one line per object), so a review can see at a
glance what calls what.  The build itself refuses upward calls
(src/layercheck.c); this shows the shape, and --check compares it with
ALLOWED (src/README.md's stack): exit 1 on an edge the stack does not have.
"""
import collections
import glob
import os
import re
import subprocess
import sys

ARCHIVES = ["src/lib/libimplib.a", "src/prof/libimpprof.a",
            "src/state/libimpstate.a", "src/net/libimpnet.a",
            "src/render/libimprender.a", "src/daemon/libimpdaemon.a",
            "src/data/libimpdata.a", "src/plot/libimpplot.a"]


# What each library may use (src/README.md); everything else is upward.
ALLOWED = {
    "lib": set(),
    "fit": set(),
    "data": set(),
    "prof": {"lib"},
    "plot": {"fit"},
    "state": {"lib", "prof"},
    "net": {"lib"},
    "render": {"lib", "prof", "state", "plot", "fit"},
    "daemon": {"lib", "prof", "state", "net", "render", "plot", "fit",
               "data"},
}


def nm(path):
    """(object, fields) for every symbol line of `nm -A` on an archive."""
    out = subprocess.run(["nm", "-A", path], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"^[^:]*\.a:([^:]+):\s*(.*)$", line)
        if m:
            yield m.group(1), m.group(2).split()


def module(obj):
    # automake names objects <target>-<module>.o or <module>.lo
    base = os.path.basename(obj)
    base = re.sub(r"\.(l?o)$", "", base)
    return re.sub(r"^.*-", "", base)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    builddir = args[0] if args else "."
    defs, needs = {}, collections.defaultdict(set)
    layer_of = {}
    paths = [os.path.join(builddir, a) for a in ARCHIVES]
    paths += glob.glob(os.path.join(builddir, "src/fit/.libs/libimpfit.a"))
    for path in paths:
        if not os.path.exists(path):
            continue
        layer = path.split("/src/")[-1].split("/")[0] if "/src/" in path \
            else path.split("src/")[-1].split("/")[0]
        for obj, f in nm(path):
            m = module(obj)
            layer_of[m] = layer
            if len(f) == 3 and f[1] in "TDBRCVW":
                defs.setdefault(f[2], m)
            elif len(f) == 2 and f[0] == "U":
                needs[m].add(f[1])
    mg = collections.defaultdict(set)
    for m, syms in needs.items():
        for s in syms:
            d = defs.get(s)
            if d is not None and d != m:
                mg[m].add(d)
    lg = collections.defaultdict(set)
    for m, ds in mg.items():
        for d in ds:
            if layer_of[d] != layer_of[m]:
                lg[layer_of[m]].add(layer_of[d])
    print("layers:")
    for l in sorted(set(layer_of.values())):
        print("  %-7s -> %s" % (l, " ".join(sorted(lg[l])) or "(none)"))
    bad = 0
    if "--check" in sys.argv:
        for l in sorted(lg):
            for d in sorted(lg[l] - ALLOWED.get(l, set())):
                culprits = sorted("%s -> %s" % (m, x) for m, xs in mg.items()
                                  if layer_of[m] == l for x in xs
                                  if layer_of[x] == d)
                print("upward: %s -> %s (%s)" % (l, d, ", ".join(culprits)))
                bad = 1
        if len(layer_of) == 0:
            print("no archives under %s" % builddir)
            bad = 1
    if "--modules" in sys.argv:
        print("modules:")
        for m in sorted(layer_of, key=lambda m: (layer_of[m], m)):
            print("  %s/%-12s -> %s" % (layer_of[m], m,
                                       " ".join(sorted(mg[m])) or "(none)"))
    return bad


if __name__ == "__main__":
    sys.exit(main())
