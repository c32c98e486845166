#!/bin/bash
# stand_in.py for the tree before (the commit in $1, unpacked to $2 by `git archive`) and the working tree, in
# turns, three rounds. Usage from the repository root: bash level3_hpc/results/host-python-2026-12-07/run_ab.sh d777e98 /tmp/before
set -e
rm -rf "$2" && mkdir -p "$2" && git archive "$1" level1_tensor/src level2_transformer/src level3_hpc/src | tar -x -C "$2"
HERE=level3_hpc/results/host-python-2026-12-07
for i in 1 2 3; do
  echo "round $i, before ($1):"; PYTHONPATH=$2/level1_tensor/src:$2/level2_transformer/src:$2/level3_hpc/src python $HERE/stand_in.py
  echo "round $i, after ($(git log -1 --format=%h), working tree):"; PYTHONPATH=level1_tensor/src:level2_transformer/src:level3_hpc/src python $HERE/stand_in.py
done
