NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src; PYTHONPATH=$NEW timeout 120 python3 .device/fwd_s3.py 2>&1 | tee $OUT/fwd_s3.txt
