#!/bin/sh
# impcore - t-prf-heap with the samplers' stacks taken by libgcc's unwinder
# (IMPCORE_UNWIND=gcc), the path of a machine without libunwind8.
IMPCORE_UNWIND=gcc
export IMPCORE_UNWIND
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/t-prf-heap.sh"
