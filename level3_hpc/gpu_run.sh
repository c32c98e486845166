#!/usr/bin/env bash
# Everything level 3 does on a GPU, in one go (what `nox -s bench-level3` runs):
#   tests -> benchmark -> Nsight Compute metrics -> compute-sanitizer -> grader -> REPORT.md + plots.
# Usage (repository root):  bash level3_hpc/gpu_run.sh [RUN_DIR]      (default level3_hpc/run)
# Each step has its own time limit, so a slow step cannot starve the others; the report says what ran.
set -uo pipefail
RUN=${1:-level3_hpc/run}
PY=${PYTHON:-python3}
mkdir -p "$RUN"
export PYTHONUNBUFFERED=1
export PYTHONPATH=level0_foundations/src:level1_tensor/src:level2_transformer/src:level3_hpc/src:grader/src${PYTHONPATH:+:$PYTHONPATH}
step() { local name=$1 limit=$2; shift 2; local t0=$SECONDS; echo "== $name (limit ${limit}s)"; timeout "$limit" "$@"; local rc=$?; echo "== $name rc=$rc in $((SECONDS - t0))s"; echo "$name rc=$rc $((SECONDS - t0))s" >> "$RUN/steps.txt"; }
: > "$RUN/steps.txt"
nvidia-smi > "$RUN/nvidia-smi.txt" 2>&1
NCU_METRICS=gpu__time_duration.sum,sm__warps_active.avg.pct_of_peak_sustained_active,dram__throughput.avg.pct_of_peak_sustained_elapsed,sm__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,smsp__sass_average_branch_targets_threads_uniform.pct,smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct
REGEX=$($PY -c "from hyperion.kernels.profile import KERNEL_REGEX; print(KERNEL_REGEX)")

XDIST=$($PY -c "import xdist" 2>/dev/null && echo "-n 8")
step pytest "${T_PYTEST:-150}" $PY -m pytest -q -rs -p no:cacheprovider $XDIST level3_hpc/tests > "$RUN/pytest.txt" 2>&1
tail -3 "$RUN/pytest.txt"
step bench "${T_BENCH:-200}" $PY -m hyperion.kernels.bench --out "$RUN" ${QUICK:+--quick} 2>&1 | tee "$RUN/bench.txt"
step ncu "${T_NCU:-90}" ncu --clock-control none --kernel-name "$REGEX" --metrics "$NCU_METRICS" --csv \
    --log-file "$RUN/ncu.csv" $PY -m hyperion.kernels.profile > "$RUN/ncu_stdout.txt" 2>&1
step ncu-detail "${T_NCU:-90}" ncu --clock-control none --kernel-name "regex:^matmul_(mma_bf16|mma_pipelined_bf16|wgmma_bf16|double_buffered)" \
    --section Occupancy --section SchedulerStats --section WarpStateStats --section MemoryWorkloadAnalysis \
    $PY -m hyperion.kernels.profile > "$RUN/ncu_detail.txt" 2>&1
step memcheck "${T_SAN:-60}" compute-sanitizer --tool memcheck --print-limit 20 $PY -m hyperion.kernels.profile --small > "$RUN/memcheck.txt" 2>&1
step racecheck "${T_SAN:-60}" compute-sanitizer --tool racecheck --print-limit 20 $PY -m hyperion.kernels.profile --small > "$RUN/racecheck.txt" 2>&1
tail -n 2 "$RUN/memcheck.txt" "$RUN/racecheck.txt"
step suite "${T_SUITE:-300}" $PY -m hyperion.kernels.suite --out "$RUN" ${QUICK:+--quick} > "$RUN/suite_log.txt" 2>&1
step grade "${T_GRADE:-90}" $PY -m hyperion_grader grade --level 3 --reference --no-cache --json "$RUN/grade.json" > "$RUN/grade.txt" 2>&1
tail -n 4 "$RUN/grade.txt"
$PY -c "from pathlib import Path; from hyperion_grader.skeleton import generate_level; generate_level(Path('level3_hpc'), Path('/tmp/l3skel/level3_hpc'))"
step grade-skeleton "${T_GRADE:-90}" $PY -m hyperion_grader grade --level 3 --submission /tmp/l3skel/level3_hpc --json "$RUN/grade_skeleton.json" > "$RUN/grade_skeleton.txt" 2>&1
tail -n 2 "$RUN/grade_skeleton.txt"
sass() {  # instruction mix of the matmul kernels: are the loads 16 bytes wide, which MMA instructions
    for f in 07_warptile 08_double_buffered 09_wmma 10_mma_sync 11_mma_pipelined 12_wgmma; do
        arch=sm_90; [ "$f" = 12_wgmma ] && arch=sm_90a  # wgmma exists only on the sm_90a target
        ( nvcc -arch=$arch -std=c++17 -Ilevel3_hpc/src/hyperion/kernels -cubin -o "/tmp/$f.cubin" "level3_hpc/src/hyperion/kernels/matmul/$f.cu" \
          && echo "$f: $(cuobjdump -sass "/tmp/$f.cubin" | grep -oE '(HMMA|HGMMA|FFMA|LDSM|LDS|LDG|LDGSTS|STS|BAR)[.A-Z0-9]*' | sort | uniq -c | tr -s ' ' | tr '\n' ';')" ) &
    done; wait; }
sass > "$RUN/sass.txt" 2>&1
step report 60 $PY -m hyperion.kernels.report --run "$RUN" --out level3_hpc/REPORT.md --img level3_hpc/img
cp -r level3_hpc/REPORT.md level3_hpc/img "$RUN"/ 2>/dev/null
cat "$RUN/steps.txt"
