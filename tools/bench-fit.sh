#!/bin/sh
# impcore - run tools/bench-fit from a build directory (default ./build) with
# the shared reffit.py; extra arguments go to bench-fit (-n, -r, -c, -x).
top=$(cd "$(dirname "$0")/.." && pwd)
build=${IMP_BUILDDIR:-$top/build}
make -C "$build" tools/bench-fit >/dev/null || exit 1
IMP_REFFIT=${IMP_REFFIT:-$top/../shared/tools/reffit.py} \
    exec taskset -c 0 "$build/tools/bench-fit" "$@"
