"""Course support: the checks behind the five implement-a-function exercises of ``course/``.

``check(name, fn)`` compares a student's function with the library on fixed cases (the situations students get
wrong) and seeded random batches and returns a ``CheckResult`` (``passed``, ``message``); ``EXERCISES`` lists the
names. ``cases`` holds the inputs, ``expected`` the reference outputs (the library's estimators themselves);
``build`` and ``grade`` turn the master notebooks of ``course/`` into student and autograder versions and grade a
folder of submissions (they need the ``course`` extra, otter-grader).
"""
from gigpo.course.checks import EXERCISES, CheckResult, check

__all__ = ["EXERCISES", "CheckResult", "check"]
