#!/bin/bash
# Call 12: ncu of 09's dK/dV kernel (call 11 caught dQ only), causal and not (d = 64, N = 4096): why causal dK/dV saves little.
NEW=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:level4_mastery/src:grader/src
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/smi.txt
for c in "0 1" "1 16" "1 1"; do set -- $c
PYTHONPATH=$NEW timeout 100 ncu -k regex:dkdv -c 1 -s 1 --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats --metrics smsp__inst_executed.sum,dram__bytes_read.sum,lts__t_sector_hit_rate.pct,smsp__issue_active.avg.pct_of_peak_sustained_active,sm__cycles_active.avg python3 .device/one_bwd.py $1 $2 > $OUT/ncu_dkdv_causal$1_group$2.txt 2>&1; echo "ncu causal=$1 group=$2 rc=$?"
grep -E "flash_bwd|Warp Cycles|Duration|DRAM Throughput|Achieved Occupancy|Compute \(SM\) Throughput|smsp__inst_executed.sum|dram__bytes_read.sum|lts__t_sector_hit_rate|issue_active|Stall|Waves Per SM|Block Limit" $OUT/ncu_dkdv_causal$1_group$2.txt | head -40
done
