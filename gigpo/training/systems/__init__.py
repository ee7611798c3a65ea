"""Where training runs: devices, processes, memory and model loading. ``distributed`` (data parallelism with
Accelerate: ranks, group sharding, collectives), ``sharding`` (FSDP2 for full fine-tuning, in lock-step phases),
``host_memory`` (glibc's mmap threshold and the peak resident memory), ``models`` (presets, any Hugging Face id or
local path, LoRA) and ``tiny_model`` (the presets built locally, for tests, CI and the CPU demo). They sit together
because they decide where weights, data and work live, not what the algorithm computes: the same loop runs in one CPU
process or on K GPUs. Nothing is imported here, so importing one of them pulls in only what it needs.
"""
