"""Training of the learned safety layer (needs the ``train`` extra: scikit-learn).

- ``data.py``: the training lines (the project's bank and ``../shared/train``), the dev set.
- ``thresholds.py``: choosing the ``high`` and ``low`` thresholds, and the metrics reported.
- ``train_safety.py``: features, fitting, cross-validation and the shipped artefacts.
- ``cli.py``: the ``train-safety`` subcommand's arguments (imports the rest only when run).
"""
