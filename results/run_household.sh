#!/usr/bin/env bash
# The household part of the estimator study (results/README.md). Unlike sokoban, the tiny model starts from a warm
# start (supervised steps on expert episodes, identical for every estimator at a given seed), so the first success
# rate is well above 0 and RL has a policy that reads the state to improve on.
#   bash results/run_household.sh tune    # lr grid {3e-5, 1e-4}, same for every estimator, tuning seed 100, training success only
#   bash results/run_household.sh study   # 3 estimators x seeds 0,1,2 at the chosen lr, notebook 04, results/
# Set PYTHON=.venv/bin/python unless the venv is active.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
MODE=${1:-study}
ENV_OPTIONS='{"num_receptacles": 6, "num_objects": 6, "task_types": ["pick_and_place"]}'
COMMON=(--env household --env-options "$ENV_OPTIONS" --model tiny-mini --finetune full --action-mode choice
        --num-groups 4 --group-size 8 --history-length 0 --max-steps 12 --kl-coef 0 --minibatch-size 64
        --warm-start-steps 200 --warm-start-episodes 64 --checkpoint-every 0 --no-progress --overwrite)
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
run() {  # run <dir> <flags...>: skip a finished run, keep at most two running
  local dir=$1; shift
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  mkdir -p "$(dirname "$dir")"
  "$PY" -m gigpo train "${COMMON[@]}" "$@" --output-dir "$dir" > "$dir.log" 2>&1 &
}
if [ "$MODE" = tune ]; then
  for lr in 3e-5 1e-4; do for est in gigpo grpo rloo; do
    run "runs/study-household-tuning/$est-lr$lr" --estimator "$est" --lr "$lr" --seed 100 --iterations 8 --eval-every 0
  done; done
  wait
  exit 0
fi
# lr per estimator: the winner of `tune` for each (results/tuning_household.csv; criterion: training success of
# iterations 4-7; a tie goes to the smaller lr): 3e-5 for all three
declare -A LR=([gigpo]=${LR_GIGPO:-3e-5} [grpo]=${LR_GRPO:-3e-5} [rloo]=${LR_RLOO:-3e-5})
ITERATIONS=${ITERATIONS:-12}
for seed in 0 1 2; do for est in gigpo grpo rloo; do
  run "runs/study-household/$est-seed$seed" --estimator "$est" --lr "${LR[$est]}" --seed "$seed" --iterations "$ITERATIONS" \
      --eval-every 6 --eval-tasks 8
done; done
wait
# notebook 04 over the finished runs (it reuses them; run alone it would train each through notebook 03 with the
# identical TrainConfig), then results/ for both envs
"$PY" -m gigpo run-notebook notebooks/04_gigpo_vs_grpo.ipynb --name study-household --runs-dir runs --overwrite \
  -p env household -p estimators "[gigpo, grpo, rloo]" -p seeds "[0, 1, 2]" -p iterations "$ITERATIONS" -p last_k 3 \
  -p train_overrides "{env_options: {num_receptacles: 6, num_objects: 6, task_types: [pick_and_place]},
     model: tiny-mini, finetune: full, action_mode: choice, num_groups: 4, group_size: 8, history_length: 0,
     max_steps: 12, kl_coef: 0.0, minibatch_size: 64, warm_start_steps: 200, warm_start_episodes: 64,
     eval_every: 6, eval_tasks: 8, checkpoint_every: 0}" \
  -p estimator_overrides "{gigpo: {lr: ${LR[gigpo]}}, grpo: {lr: ${LR[grpo]}}, rloo: {lr: ${LR[rloo]}}}"
"$PY" results/make_results.py runs/study-sokoban sokoban runs/study-household household  # one summary for both envs
