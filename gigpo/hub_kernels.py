"""Transformers' hub kernels stay off unless the user asks for them: nothing is downloaded at run time.

From 5.25 transformers depends on the ``kernels`` package and kernelizes every model it loads, again at each
``model.train()`` / ``eval()``, fetching compiled kernels such as ``kernels-community/rotary`` from the Hugging Face
hub for the model's device (CUDA, XPU, ROCm). Offline that raises (the 1.5B GPU check failed so at its first
``model.train()``), and online it runs code no version pin of this package covers. transformers reads the switch
``USE_HUB_KERNELS`` at import time up to 5.24 and at each ``from_pretrained`` from 5.25, so it is set when ``gigpo``
is imported, before any of its modules imports transformers. An explicit value in the environment wins:
``USE_HUB_KERNELS=YES`` opts back in.
"""
from __future__ import annotations

import os

SWITCH = "USE_HUB_KERNELS"


def keep_hub_kernels_off() -> str:
    """Set ``USE_HUB_KERNELS=NO`` unless the environment already has a value; returns the value in force."""
    return os.environ.setdefault(SWITCH, "NO")
