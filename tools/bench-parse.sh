#!/bin/sh
# impcore - run tools/bench-parse from a build directory (default ./build),
# pinned to one core; extra arguments go to bench-parse (-s, -p, -n, -r, -o).
top=$(cd "$(dirname "$0")/.." && pwd)
build=${IMP_BUILDDIR:-$top/build}
make -C "$build" tools/bench-parse >/dev/null || exit 1
exec taskset -c "${IMP_BENCH_CPU:-0}" "$build/tools/bench-parse" "$@"
