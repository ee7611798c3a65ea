"""``gigpo inspect``: anchor groups and advantages of any rollout table, as a static page and a CSV.

``advantages`` (each estimator's advantage per row, GiGPO's parts and step groups, ``advantages.csv``),
``figures`` (the kernel-free step-through with a slider, heatmaps per estimator), ``page`` (``index.html`` with
plotly.js inlined), ``options`` and ``cli`` (``python -m gigpo inspect ROLLOUTS --out DIR``). The package face holds
what needs no plotting package; ``figures``, ``page`` and ``cli`` need the ``notebook`` extra (plotly).
"""
from gigpo.inspect.advantages import (
    DEFAULT_ESTIMATORS,
    InspectedBatch,
    inspect_table,
    largest_step_groups,
    summary_counts,
    write_advantages_csv,
)
from gigpo.run_files.rollout_table import table_from_step_records

__all__ = ["DEFAULT_ESTIMATORS", "InspectedBatch", "inspect_table", "largest_step_groups", "summary_counts",
           "table_from_step_records", "write_advantages_csv"]
