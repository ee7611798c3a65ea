"""The files a run leaves in its output folder, and how they are written and read back.

``metrics`` (``metrics.jsonl``: one JSON row per iteration, its reader and its appender), ``run_folder`` (the run
marker and the names a run owns there), ``durable_files`` (writes that survive a crash of the process or the host),
``run_overwrite`` (emptying a run folder without following links) and ``rollout_table`` (one row per environment
step, what ``gigpo inspect`` reads). Everything above reads and writes run folders through these modules; they import
nothing of gigpo.
"""
