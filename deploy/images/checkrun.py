"""How check_compose.py and check_k8s.py report: a FAIL line per finding or
one line saying what holds, and a self-test's broken variant that was not
caught."""

import sys


def report(name, errors, holds):
    """Prints each of errors as a FAIL line about name, or, with none, the line
    saying what holds; returns the exit status."""
    for e in errors:
        print(f"FAIL: {name}: {e}", file=sys.stderr)
    if not errors:
        print(f"  {name}: {holds}")
    return 1 if errors else 0


def caught(script, what, expect, errors):
    """Whether one of errors (from a broken variant, what) holds expect; says
    so on stderr when none does."""
    if any(expect in e for e in errors):
        return True
    print(f"FAIL: {script} --self-test: {what} was not caught (wanted {expect!r}; got {errors})",
          file=sys.stderr)
    return False
