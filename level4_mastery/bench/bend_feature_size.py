"""The minimum length scales of an optimised bend design, measured with imageruler (the ruler of the invrs-gym
leaderboard; ``pip install imageruler``, not a dependency of this project).

    python -m hyperion.physics.optimize_bend --json bend.json && python bend_feature_size.py bend.json
"""

import json
import sys

import imageruler
import numpy as np

result = json.load(open(sys.argv[1], encoding="utf-8"))
design = np.asarray(result["design"]) > 0.5
solid, void = imageruler.minimum_length_scale(design)
pixel_nm = 40  # the lightweight bend's grid
print(f"design {design.shape}, solid fraction {design.mean():.3f}: minimum length scale solid {solid} px "
      f"({solid * pixel_nm} nm), void {void} px ({void * pixel_nm} nm) [imageruler 0.3.0, default ignore scheme]")
for key in ("ours", "ceviche"):
    if key in result:
        print(f"{key}: metric {result[key]['metric']:.3f}")
