#!/usr/bin/env bash
# The estimator study of results/README.md, end to end (about 25 min on 2 cores):
#   1. train every (estimator, seed) with the same TrainConfig, two runs at a time, one CPU thread each;
#   2. run notebook 04 (papermill) over them with the same settings: it reuses the finished runs (and would train
#      any missing one itself through notebook 03, with the identical TrainConfig), writes its table and figures;
#   3. write results/ (summary.csv, summary.md, per-seed metrics, figures) and the credit/state diagnostics.
# The learning rate comes from results/run_tuning.sh (same grid {1e-4, 3e-4} for every estimator, tuning seed 100,
# training success only): 3e-4 won for all three.
# Usage: bash results/run_study.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
NAME=study-sokoban
OUT=runs/$NAME
ITERATIONS=20
SEEDS=(0 1 2)
ESTIMATORS=(gigpo grpo rloo)
declare -A LR=([gigpo]=3e-4 [grpo]=3e-4 [rloo]=3e-4)
ENV_OPTIONS='{"num_boxes": 1, "max_steps": 10, "max_solution_moves": 4}'
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
for seed in "${SEEDS[@]}"; do
  for est in "${ESTIMATORS[@]}"; do
    dir=$OUT/$est-seed$seed
    if [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l < "$dir/metrics.jsonl")" -ge "$ITERATIONS" ]; then continue; fi
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    "$PY" -m gigpo train --env sokoban --env-options "$ENV_OPTIONS" --model tiny-mini --finetune full \
      --action-mode choice --num-groups 4 --group-size 8 --history-length 0 --max-steps 10 --task-pool 8 \
      --kl-coef 0 --lr "${LR[$est]}" --estimator "$est" --seed "$seed" --iterations "$ITERATIONS" \
      --eval-every 5 --eval-tasks 8 --checkpoint-every 0 --no-progress --overwrite --output-dir "$dir" \
      > "$dir.log" 2>&1 &
  done
done
wait
# 2. notebook 04 over the same runs (train_overrides = every flag above except env/estimator/seed/iterations)
"$PY" -m gigpo run-notebook notebooks/04_gigpo_vs_grpo.ipynb --name "$NAME" --runs-dir runs --overwrite \
  -p env sokoban -p estimators "[gigpo, grpo, rloo]" -p seeds "[0, 1, 2]" -p iterations "$ITERATIONS" -p last_k 5 \
  -p train_overrides "{env_options: {num_boxes: 1, max_steps: 10, max_solution_moves: 4}, model: tiny-mini,
     finetune: full, action_mode: choice, num_groups: 4, group_size: 8, history_length: 0, max_steps: 10,
     task_pool: 8, kl_coef: 0.0, lr: 0.0003, eval_every: 5, eval_tasks: 8, checkpoint_every: 0}"
# 3. results/
"$PY" results/make_results.py "$OUT" sokoban
finals=()
for est in "${ESTIMATORS[@]}"; do for seed in "${SEEDS[@]}"; do finals+=("$OUT/$est-seed$seed/final"); done; done
"$PY" results/credit_diagnostics.py "${finals[@]}" > results/credit_diagnostics.json
