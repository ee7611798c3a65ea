"""What the notebooks use: plotly figures (``plots``), ipywidgets explorers (``widgets``), the papermill runner
(``runner``), scripted teaching rollouts (``scripted_rollouts``) and metrics I/O (``metrics_io``).

Nothing is imported here, so ``import gigpo.notebook.metrics_io`` stays free of plotly and ipywidgets.
"""
