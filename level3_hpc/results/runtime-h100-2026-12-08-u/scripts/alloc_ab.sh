#!/bin/bash
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/old && mkdir -p /tmp/old && cp -r level3_hpc/src /tmp/old/ && cp .device/allocator_old.py /tmp/old/src/hyperion/runtime/allocator.py
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/old/src:level4_mastery/src:grader/src
for i in 1 2; do
  PYTHONPATH=$NEW timeout 50 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_cuda_graph_gpu.py > $OUT/new_$i.txt 2>&1; echo "new $i rc=$?"; grep -c "Exception ignored" $OUT/new_$i.txt
  PYTHONPATH=$OLD timeout 50 python3 -m pytest -q -p no:cacheprovider level3_hpc/tests/test_cuda_graph_gpu.py > $OUT/old_$i.txt 2>&1; echo "old $i rc=$?"; grep -c "Exception ignored" $OUT/old_$i.txt
done
