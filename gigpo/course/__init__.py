"""Course support: the checks behind the implement-a-function and fix-the-bug exercises of ``course/``.

``check(name, fn)`` compares a student's function with the library on fixed cases (the situations students get
wrong) and seeded random batches and returns a ``CheckResult`` (``passed``, ``message``, naming a known mistake
where the answer matches one); ``EXERCISES`` lists the names. ``check_test(name, test)`` grades a student's test
of a bug-hunt function: it must fail on the buggy version and pass on a correct one. ``cases`` and ``bug_cases``
hold the inputs, ``expected`` the reference outputs (the library's estimators themselves), ``known_mistakes`` the
wrong answers a message can name, ``bug_variants`` the five buggy trainer functions of unit 06;
``build`` and ``grade`` turn the master notebooks of ``course/`` into student and autograder versions and grade a
folder of submissions (they need the ``course`` extra, otter-grader).
"""
from gigpo.course.checks import EXERCISES, CheckResult, check, check_test

__all__ = ["EXERCISES", "CheckResult", "check", "check_test"]
