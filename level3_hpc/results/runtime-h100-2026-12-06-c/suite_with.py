"""The rows suite with ROW_TABLE entries replaced by winners.json (the sweep of this call)."""

import json
import sys

from hyperion.kernels import rows as rk
from hyperion.kernels import suite

for key, fields in json.load(open(sys.argv[1])).items():
    rows, C, dtype = key.split(",")
    rk.ROW_TABLE[("ln_bwd", dtype, int(rows), int(C))] = rk.RowConfig(*fields)
rk.clear_plans()
sys.exit(suite.main(sys.argv[2:]))
