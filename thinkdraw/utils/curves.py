"""Small easing curves shared by the stages (timelines in THINK, soft ends in RENDER)."""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 at or below 0, 1 at or above 1, 3x^2 - 2x^3 between (C1-continuous ends); keeps x's dtype."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
