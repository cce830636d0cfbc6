"""The demo's feature definitions: applied with `shipyard features apply fraud_features.py`.

One definition feeds both the training data (point in time, from history) and the
served model (the latest values, from the online store).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import shipyard as sy

user = sy.Entity(name="user", join_keys=["user_id"])

user_stats = sy.FeatureView(
    name="user_stats",
    entities=[user],
    source="user_stats",  # the latest version of the dataset of that name
    timestamp_field="event_time",
    ttl=timedelta(days=30),
    features={"avg_amount_7d": "float", "tx_count_7d": "int"},
)


@sy.on_demand(inputs=["user_stats:avg_amount_7d", "amount"], outputs={"amount_ratio": "float"})
def amount_ratio(df: Any) -> dict[str, Any]:
    """How far this amount is from what the user spent lately (the fraud signal)."""
    return {"amount_ratio": df["amount"] / df["avg_amount_7d"]}


fraud_features = sy.FeatureService(
    "fraud_features",
    ["user_stats:avg_amount_7d", "user_stats:tx_count_7d", "amount_ratio:amount_ratio"],
)
