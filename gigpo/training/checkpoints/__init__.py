"""Checkpoints that make ``--resume`` exact and survive a host crash: ``checkpoint`` (save, verify, load and prune
``checkpoints/iter_*``), ``state_files`` (optimizer and RNG states as safetensors + JSON, no pickle) and
``checkpoint_convert`` (``python -m gigpo convert-checkpoint``, for checkpoints of the pickle layout). They sit
together because they define one on-disk format and its guarantees (fsynced through
``gigpo.run_files.durable_files``); the loop itself calls only ``checkpoint``. Nothing is imported here, so importing
one of them pulls in only what it needs.
"""
