"""Offline text environments for LLM agents, with states that repeat across rollouts (for GiGPO's anchor groups).

>>> import envs
>>> env = envs.make("sokoban")
>>> obs, info = env.reset(seed=0)
"""
from envs.base import INFO_KEYS, TextEnv, action_verdict, check_info
from envs.group import GroupRunner, StepRecord
from envs.registry import make, names, register

__all__ = ["INFO_KEYS", "TextEnv", "action_verdict", "check_info", "GroupRunner", "StepRecord", "make", "names",
           "register"]
