"""Synthetic card transactions for the demo: users, their spending habits, and fraud.

Fraud is more likely for large amounts relative to what the user usually spends, for
online purchases and at night, so a model that knows each user's recent average (a
feature computed point in time) beats one that sees the amount alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# Two months of history ending yesterday, so online features are fresh when served.
START = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=61)
MERCHANTS = np.array(["grocery", "travel", "online", "fuel"])


def transactions(n: int, users: int, days: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """``n`` transactions of ``users`` users over ``days`` days; ``shift`` inflates amounts (drift)."""
    rng = np.random.default_rng(seed)
    habit = rng.lognormal(3.5, 0.6, users)  # each user's typical amount
    user = rng.integers(0, users, n)
    seconds = np.sort(rng.integers(0, days * 86_400, n))
    merchant = rng.choice(MERCHANTS, n, p=[0.45, 0.1, 0.3, 0.15])
    amount = habit[user] * rng.lognormal(0.0, 0.5, n) * (1.0 + shift)
    hour = (seconds % 86_400) // 3600
    ratio = amount / habit[user]
    logit = -3.6 + 2.0 * np.log(ratio) + 1.2 * (merchant == "online") + 0.8 * (hour < 6)
    is_fraud = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    return pd.DataFrame(
        {
            "tx_id": np.arange(n),
            "user_id": user.astype("int64"),
            "event_time": START + pd.to_timedelta(seconds, unit="s"),
            "amount": amount.round(2),
            "merchant": merchant,
            "night": (hour < 6).astype("int64"),
            "is_fraud": is_fraud.astype("int64"),
        }
    )


def user_stats(tx: pd.DataFrame) -> pd.DataFrame:
    """Each user's 7-day average amount and count, as of the end of every day they spent."""
    daily = (
        tx.assign(day=tx["event_time"].dt.floor("D"))
        .groupby(["user_id", "day"])["amount"]
        .agg(["sum", "count"])
        .reset_index()
    )
    rolled = daily.set_index("day").groupby("user_id")[["sum", "count"]].rolling("7D").sum().reset_index()
    return pd.DataFrame(
        {
            "user_id": rolled["user_id"].astype("int64"),
            # valid from the end of the day: no value from the future
            "event_time": rolled["day"] + pd.Timedelta(days=1),
            "avg_amount_7d": rolled["sum"] / rolled["count"],
            "tx_count_7d": rolled["count"].astype("int64"),
        }
    )


def write(folder: Path, seed: int = 7, shift: float = 0.0) -> dict[str, Path]:
    """The demo's files: training transactions, a later holdout, and the user features;
    ``shift`` inflates every amount (the world the model was trained on has moved)."""
    folder.mkdir(parents=True, exist_ok=True)
    history = transactions(24_000, users=400, days=60, seed=seed, shift=shift)
    train = history[history["event_time"] < START + pd.Timedelta(days=45)]
    holdout = history[history["event_time"] >= START + pd.Timedelta(days=45)]
    paths = {
        "transactions": folder / "transactions.parquet",
        "holdout": folder / "holdout.parquet",
        "user_stats": folder / "user_stats.parquet",
    }
    train.to_parquet(paths["transactions"], index=False)
    holdout.to_parquet(paths["holdout"], index=False)
    user_stats(history).to_parquet(paths["user_stats"], index=False)
    return paths
