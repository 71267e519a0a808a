"""What check_compose.py and check_k8s.py share: the processes of the
services table, and how they report (a FAIL line per finding or one line
saying what holds, and a self-test's broken variant that was not caught)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "lint"))
import services_table  # noqa: E402 (found through the path above)

# The processes, from the services table (services/services.tsv; its first
# row is the gateway), and whom each dials.
ROWS = services_table.load()
PROCESSES = [row["process"] for row in ROWS]
DIALS = {row["process"]: row["dials"] for row in ROWS}


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
