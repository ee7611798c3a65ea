"""``gigpo inspect``: anchor groups and advantages of any rollout table, as a static page and a CSV.

``advantages`` (each estimator's advantage per row, GiGPO's parts and step groups, ``advantages.csv``),
``figures`` (the kernel-free step-through with a slider, heatmaps per estimator), ``page`` (``index.html`` with
plotly.js inlined), ``cli``
(``python -m gigpo inspect ROLLOUTS --out DIR``). plotly is imported here and in the notebook layer only.
"""
from gigpo.inspect.advantages import (
                                      DEFAULT_ESTIMATORS,
                                      InspectedBatch,
                                      inspect_table,
                                      largest_step_groups,
                                      summary_counts,
                                      write_advantages_csv,
)
from gigpo.inspect.cli import inspect_rollouts
from gigpo.inspect.figures import advantage_heatmaps, step_through_figure
from gigpo.inspect.page import page_html, write_page
from gigpo.run_files.rollout_table import table_from_step_records

__all__ = ["DEFAULT_ESTIMATORS", "InspectedBatch", "advantage_heatmaps", "inspect_rollouts", "inspect_table",
           "largest_step_groups", "page_html", "step_through_figure", "summary_counts", "table_from_step_records",
           "write_advantages_csv", "write_page"]
