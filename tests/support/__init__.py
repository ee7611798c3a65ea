"""What several test modules share: the corridor env, the tiny training settings, hand-worked batches, reference
restatements of the estimators, notebook-cell readers, browser helpers and data files. Test modules import from here,
never from each other."""
