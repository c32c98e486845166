# ruff: noqa
"""The suite's host-time table (suite.bench_python, flash calls included) for whichever tree PYTHONPATH names:
run once for the tree before this session's host-time changes and once for the tree with them, in turns."""
import json
import sys

from hyperion.kernels import suite

suite.WITH_FLASH = True
rows = suite.bench_python(False, False)
json.dump(rows, open(sys.argv[1], "w"), indent=1)
