"""impcore tests: answer() and answers(), HTTP answers read off raw sockets,
now in tests/implib.py.  This name stays for the tests that import it
(from rawhttp import answer); new code imports implib."""
from implib import answer, answers  # noqa: F401
