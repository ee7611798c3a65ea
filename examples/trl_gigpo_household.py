"""GiGPO with TRL on the household env: ``GiGPOTrainer`` where a TRL script has ``GRPOTrainer``.

    python examples/trl_gigpo_household.py --max-steps 2 --output-dir runs/trl_household

On CPU it uses the package's locally built tiny model (nothing is downloaded). That random model does not write
well-formed tool calls, so its episodes end after one turn unless ``--warm-start-steps N`` first teaches it the
expert's tool calls (slow on CPU: the tool-calling prompts are ~1k tokens); ``--model NAME_OR_PATH`` takes any causal
LM whose chat template TRL can parse tool calls from (Qwen2.5/Qwen3, Llama 3.1, ...), which plays multi-turn as is.
The output folder is TRL's: checkpoints, ``trainer_state.json`` with the step-level statistics (``adv_episode_abs``,
``adv_step_abs``, ``step_groups``, ...) in its ``log_history``. ``--trainer grpo`` runs TRL's own GRPOTrainer on the
same setup, for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

from gigpo.integrations.trl import GiGPOConfig, GiGPOTrainer, environment_factory, task_dataset, tool_chat_model
from gigpo.integrations.trl.environments import INSTRUCTION
from gigpo.integrations.trl.warm_start import warm_start


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-steps", type=int, default=2, help="optimizer steps (TRL's max_steps)")
    p.add_argument("--output-dir", required=True, help="TRL's output folder")
    p.add_argument("--model", default=None, help="model name or path; default: the tiny-mini preset, built locally")
    p.add_argument("--trainer", choices=("gigpo", "grpo"), default="gigpo")
    p.add_argument("--step-weight", type=float, default=1.0, help="w in A = A_E + w A_S")
    p.add_argument("--gamma", type=float, default=0.95)
    p.add_argument("--num-tasks", type=int, default=64, help="task seeds in the dataset")
    p.add_argument("--tasks-per-step", type=int, default=2, help="task groups per optimizer step")
    p.add_argument("--num-generations", type=int, default=4, help="rollouts per task (the group size)")
    p.add_argument("--env-steps", type=int, default=6, help="the env's step limit")
    p.add_argument("--max-completion-length", type=int, default=1024)
    p.add_argument("--learning-rate", type=float, default=1e-5)
    p.add_argument("--warm-start-steps", type=int, default=0, help="supervised steps on expert tool calls before RL "
                                                                    "(tiny model only; see docs/trl.md for its cost)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


ENV_OPTIONS = dict(num_receptacles=4, num_objects=2, task_types=("pick_and_place",))


def main(argv=None) -> None:
    args = parse_args(argv)
    env_options = dict(ENV_OPTIONS, max_steps=args.env_steps)
    torch.manual_seed(args.seed)
    path = args.model or tool_chat_model("tiny-mini")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    if args.model is None and args.warm_start_steps > 0:
        # expert seeds far from the training tasks' seeds
        losses = warm_start(model, tokenizer, "household", env_options, range(10_000, 10_032), INSTRUCTION,
                            steps=args.warm_start_steps, max_turns=args.env_steps)
        print(f"warm start: {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    common = dict(output_dir=args.output_dir, max_steps=args.max_steps, seed=args.seed,
                  per_device_train_batch_size=args.tasks_per_step * args.num_generations,
                  num_generations=args.num_generations, max_completion_length=args.max_completion_length,
                  max_tool_calling_iterations=args.env_steps, learning_rate=args.learning_rate, beta=0.0,
                  logging_steps=1, save_steps=max(args.max_steps, 1), report_to="none",
                  use_cpu=not torch.cuda.is_available())
    if args.trainer == "gigpo":
        config, trainer_cls = GiGPOConfig(**common, step_weight=args.step_weight, gamma=args.gamma), GiGPOTrainer
    else:
        config, trainer_cls = GRPOConfig(**common), GRPOTrainer
    trainer = trainer_cls(model=model, processing_class=tokenizer, args=config,
                          train_dataset=task_dataset(args.num_tasks),
                          environment_factory=environment_factory("household", **env_options))
    trainer.train()
    trainer.save_model(args.output_dir)
    trainer.state.save_to_json(os.path.join(args.output_dir, "trainer_state.json"))
    for row in trainer.state.log_history:
        if "loss" in row:
            keys = ("step", "reward", "turns_per_episode", "adv_episode_abs", "adv_step_abs", "step_groups",
                    "step_group_share_grouped")
            print(json.dumps({k: row[k] for k in keys if k in row}))
    print(f"TRL output folder: {Path(args.output_dir).resolve()}")


if __name__ == "__main__":
    main()
