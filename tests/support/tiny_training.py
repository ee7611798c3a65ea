"""The smallest LLM training the trainer's tests run (the tiny preset on the corridor) and what runs are compared by:
metrics rows without measurements, the final weights' bytes."""
from pathlib import Path

from gigpo.run_files.metrics import without_measurements
from gigpo.training.config import TrainConfig
from tests.support import corridor  # noqa: F401  (registers the "corridor" env)

TINY = dict(env="corridor", num_groups=2, group_size=2, max_steps=4, eval_tasks=1, eval_every=2, progress=False,
            micro_batch_size=8, lr=5e-3)
FINAL_FILE = {"lora": "adapter_model.safetensors", "full": "model.safetensors"}


def training_rows(rows):
    """Metrics rows without the timings and memory peaks (the only fields allowed to differ between runs)."""
    return without_measurements(rows)


def final_bytes(cfg: TrainConfig) -> bytes:
    return (Path(cfg.output_dir) / "final" / FINAL_FILE[cfg.finetune]).read_bytes()


def interrupt_policy_update(monkeypatch, at_call: int):
    """Patch the trainer's ``policy_update`` to raise ``KeyboardInterrupt`` on its ``at_call``-th call from now (a
    process stopped mid-update); returns the real function, to put back."""
    import gigpo.training.trainer as trainer_module

    real, calls = trainer_module.policy_update, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            raise KeyboardInterrupt("simulated interruption")
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_update", interrupted)
    return real
