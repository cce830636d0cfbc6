"""Objectives the tuning tests search with (a module of their own, so Ray can ship them by value)."""

from __future__ import annotations

import math
from typing import Any

import shipyard as sy

SPACE = {"lr": sy.loguniform(1e-4, 1e-1), "depth": sy.intrange(2, 10), "model": sy.choice(["rf", "xgb"])}


def score(params: dict[str, Any]) -> float:
    """Best near lr=0.01, depth=6, model rf."""
    bonus = 0.2 if params["model"] == "rf" else 0.0
    return bonus - abs(math.log10(params["lr"]) + 2) - abs(params["depth"] - 6) / 10


def plain(params: dict[str, Any]) -> float:
    return score(params)


def with_metrics(params: dict[str, Any]) -> dict[str, float]:
    return {"roc_auc": score(params), "seconds": 1.5}


def learning(params: dict[str, Any]) -> float:
    """Reports a learning curve that follows the final score, so poor trials can be pruned early."""
    final = score(params)
    for step in range(5):
        sy.report(final * (step + 1) / 5, step)
    return final


def with_trial(params: dict[str, Any], trial: Any) -> dict[str, Any]:
    return {"value": score(params), "number": trial.number, "seen_run": 0.0 if not trial.run_id else 1.0}


def broken(params: dict[str, Any]) -> float:
    if params["depth"] > 0:
        raise ValueError("the objective broke")
    return 0.0


def wrong_metric(params: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": 1.0}


def interrupted(params: dict[str, Any], trial: Any) -> float:
    """Stops like Ctrl-C on the second trial."""
    if trial.number == 1:
        raise KeyboardInterrupt
    return score(params)
