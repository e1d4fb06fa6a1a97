"""The one motion space: per-frame rig parameters shared by SPEECH, THINK, DRAW, RENDER and eval.

A frame is a vector of ``D = len(RIG_CHANNELS)`` floats:

* AU channels, intensity in [0, 1] (0 absent, 1 = FACS level E). AUs whose catalog entry says
  ``rig: split`` have two channels, ``AU12L`` / ``AU12R`` (the *person's* left/right); the others
  one channel named by the AU id. ``rig: alias:AU45`` AUs (AU46 wink) drive another AU's channels.
* head pose: ``yaw``, ``pitch``, ``roll`` in degrees (yaw > 0 turns to the person's right,
  pitch > 0 chin up, roll > 0 tilts toward the right shoulder); ``tx``, ``ty`` translation in
  face widths (+x image right, +y image down); ``scale`` as log scale factor (0 = unchanged).
* gaze: ``gaze_h``, ``gaze_v`` in [-1, 1] (+h toward the person's right, +v up), 1 = about 30 deg.

Motion over time is an array ``(T, D)`` (or ``(B, T, D)`` batched) with columns in this order.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from thinkdraw.facs import au_catalog
from thinkdraw.errors import InputError

POSE_CHANNELS: tuple[str, ...] = ("yaw", "pitch", "roll", "tx", "ty", "scale")
GAZE_CHANNELS: tuple[str, ...] = ("gaze_h", "gaze_v")
SIDES: tuple[str, ...] = ("both", "left", "right")


@functools.lru_cache(maxsize=None)
def au_channels() -> tuple[str, ...]:
    """AU channel names in catalog order, e.g. ('AU1', 'AU2L', 'AU2R', 'AU4', ...)."""
    out: list[str] = []
    for au, info in au_catalog().items():
        rig = str(info.get("rig", "both"))
        if rig == "split":
            out += [f"{au}L", f"{au}R"]
        elif rig == "both":
            out.append(au)
    return tuple(out)


@functools.lru_cache(maxsize=None)
def rig_channels() -> tuple[str, ...]:
    """All rig channels: AU channels, then pose, then gaze. ``D = len(rig_channels())``."""
    return au_channels() + POSE_CHANNELS + GAZE_CHANNELS


@functools.lru_cache(maxsize=None)
def channel_index() -> dict[str, int]:
    return {name: i for i, name in enumerate(rig_channels())}


def au_to_channels(au: str, side: str = "both") -> list[str]:
    """Rig channels driven by one AU on one side. Raises InputError for an unknown AU or side."""
    cat = au_catalog()
    if au not in cat:
        raise InputError(f"unknown action unit {au!r}; known: {', '.join(cat)}")
    if side not in SIDES:
        raise InputError(f"unknown side {side!r}; use one of {', '.join(SIDES)}")
    rig = str(cat[au].get("rig", "both"))
    if rig.startswith("alias:"):
        au, rig = rig.split(":", 1)[1], "split"
    if rig == "split":
        return {"both": [f"{au}L", f"{au}R"], "left": [f"{au}L"], "right": [f"{au}R"]}[side]
    return [au]


def params_to_vector(params: Mapping[str, float]) -> np.ndarray:
    """{channel: value} -> (D,) float32; missing channels are 0. Unknown names raise InputError."""
    idx = channel_index()
    vec = np.zeros(len(idx), dtype=np.float32)
    for name, value in params.items():
        if name not in idx:
            raise InputError(f"unknown rig channel {name!r}")
        vec[idx[name]] = float(value)
    return vec


def vector_to_params(vec: np.ndarray, drop_zero: bool = False) -> dict[str, float]:
    """(D,) -> {channel: value}."""
    names = rig_channels()
    vec = np.asarray(vec, dtype=np.float64).reshape(-1)
    if vec.shape[0] != len(names):
        raise ValueError(f"expected {len(names)} rig values, got {vec.shape[0]}")
    return {n: float(v) for n, v in zip(names, vec) if not (drop_zero and v == 0.0)}
