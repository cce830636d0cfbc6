"""Hypothesis strategies for one-dimensional float samples, shared by the statistics tests."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st


def float_samples(
    min_size: int = 1, max_size: int = 300, *, sort: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Continuous values, heavy ties (small integers), or a constant; sorted when ``sort``."""
    size = st.integers(min_size, max_size)
    continuous = hnp.arrays(np.float64, size, elements=st.floats(-1e6, 1e6, allow_subnormal=False))
    tied = hnp.arrays(np.float64, size, elements=st.integers(-4, 4).map(float))
    constant = st.tuples(size, st.floats(-100, 100)).map(lambda t: np.full(t[0], t[1]))
    drawn = st.one_of(continuous, tied, constant)
    return drawn.map(np.sort) if sort else drawn
