"""impcore tests: check() and done(), now in tests/implib.py."""
from implib import check, done  # noqa: F401
