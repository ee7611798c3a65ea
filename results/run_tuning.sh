#!/usr/bin/env bash
# Learning-rate search of the estimator study (results/README.md): the same grid for every estimator, on a
# tuning seed (100) that is not a study seed, judged on the TRAINING success curve (no held-out evaluation runs).
# Two runs at a time, one CPU thread each. Usage: bash results/run_tuning.sh [out_dir]
set -euo pipefail
OUT=${1:-runs/study-tuning}
PY=${PYTHON:-python}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
COMMON=(--env sokoban --env-options '{"num_boxes": 1, "max_steps": 10, "max_solution_moves": 4}'
        --model tiny-mini --finetune full --action-mode choice --num-groups 4 --group-size 8 --history-length 0
        --max-steps 10 --task-pool 8 --kl-coef 0 --iterations 8 --eval-every 0 --checkpoint-every 0
        --seed 100 --no-progress --overwrite)
for est in gigpo grpo rloo; do
  for lr in 1e-4 3e-4; do
    dir=$OUT/$est-lr$lr
    if [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l < "$dir/metrics.jsonl")" -ge 8 ]; then continue; fi  # done
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    "$PY" -m gigpo train "${COMMON[@]}" --estimator "$est" --lr "$lr" --output-dir "$OUT/$est-lr$lr" \
      > "$OUT/$est-lr$lr.log" 2>&1 &
  done
done
wait
