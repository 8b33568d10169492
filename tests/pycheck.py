"""impcore tests: the verdict of a test's Python part.

check(cond, what) prints "ok: what" or "FAIL: what" (the shell tests'
format) and counts the failures; done() exits 1 if there were any.  The
shell tests import it from $IMP_SRCDIR/tests.
"""
import sys

fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails += 1


def done():
    sys.exit(1 if fails else 0)
