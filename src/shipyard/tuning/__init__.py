"""Hyperparameter search on Optuna: trials as tracked runs, studies stored in Shipyard."""
