#!/bin/bash
# Call 1 (13th session): 09 with its softmax step unswitched on `masked` (.device/unswitch.patch): backward GPU
# tests on the patched tree, then forward+backward vs SDPA, old and patched tree in turns.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:/tmp/uns/src:level4_mastery/src:grader/src
OLD=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
rm -rf /tmp/uns && mkdir -p /tmp/uns && cp -r level3_hpc/src /tmp/uns/ && (cd /tmp/uns && patch -p2 < $OLDPWD/.device/unswitch.patch) || { echo "patch failed"; exit 1; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
PYTHONPATH=$NEW:level3_hpc/tests timeout 180 python3 -m pytest -q -x -p no:cacheprovider --tb=short level3_hpc/tests/test_flash_wgmma_gpu.py -k "backward or use_kernels or empty" > $OUT/flash_tests.txt 2>&1; echo "flash tests rc=$?"; tail -3 $OUT/flash_tests.txt
for i in 1 2; do
PYTHONPATH=$OLD timeout 150 python3 .device/fb_ab.py old$i > $OUT/fb_old$i.txt 2>&1; echo "old rc=$?"; cat $OUT/fb_old$i.txt | tail -16; [ $SECONDS -gt 560 ] && exit 0
PYTHONPATH=$NEW timeout 110 python3 .device/fb_ab.py new$i > $OUT/fb_new$i.txt 2>&1; echo "new rc=$?"; cat $OUT/fb_new$i.txt | tail -16; [ $SECONDS -gt 560 ] && exit 0
done
