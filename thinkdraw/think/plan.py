"""The EmotionPlan: THINK's output, DRAW's and RENDER's input (JSON-serialisable, pydantic).

A plan says which facial action units (AUs) to move, how strongly, on which side and when, and
why (the chain-of-thought ``trace``). ``rig_params`` / ``rig_curve`` turn it into values of the
motion space of :mod:`thinkdraw.motion` (AU channel intensities in [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator, model_validator

from thinkdraw.facs import BASIC_EMOTIONS, REGIONS
from thinkdraw.utils.curves import smoothstep

Side = Literal["both", "left", "right"]
Region = Literal["brows", "eyes", "cheeks", "nose", "mouth", "jaw"]

WEIGHT_TOLERANCE = 1e-3
"""Emotion weights must sum to 1 within this tolerance."""

__all__ = [
    "AUTarget", "BASIC_EMOTIONS", "EmotionPlan", "EmotionWeight", "Keyframe", "REGIONS", "Timing", "TraceStep",
]


class TraceStep(BaseModel):
    """One step of the chain of thought: a short title and human-readable text."""

    title: str
    text: str


class EmotionWeight(BaseModel):
    """One emotion of the mixture. ``name`` is an emotion of thinkdraw/facs/emotions.yaml."""

    name: str
    weight: float = Field(ge=0.0, le=1.0)


class AUTarget(BaseModel):
    """Target of one action unit at the apex of the expression."""

    au: str = Field(pattern=r"^AU\d+$")  # catalog id, e.g. "AU12"
    intensity: float = Field(ge=0.0, le=1.0)  # 0 absent .. 1 FACS level E
    side: Side = "both"  # the person's own left / right
    region: Region  # face region (thinkdraw.facs.REGIONS)
    muscle: str  # muscular basis (FACS)
    description: str  # the visible change, one line


class Keyframe(BaseModel):
    """A phase of an emotion that changes within a clip.

    From time ``t`` the face moves from wherever it is toward these AU targets, reaching them
    after ``ramp`` seconds (smoothstep), and holds them until the next keyframe starts.
    """

    t: float = Field(ge=0.0)  # seconds from the clip start where this phase begins
    ramp: float = Field(default=0.5, ge=0.0)  # seconds to reach the targets
    label: str = ""  # the text of this phase
    emotions: list[EmotionWeight] = Field(default_factory=list)
    intensity: float = Field(default=0.0, ge=0.0, le=1.0)
    aus: list[AUTarget] = Field(default_factory=list)


class Timing(BaseModel):
    """When the expression happens, in seconds.

    Without keyframes: the expression starts at ``start``, rises for ``onset`` seconds, holds its
    apex for ``apex`` seconds and fades back to neutral over ``offset`` seconds. With keyframes
    the keyframes govern (onset/apex/offset then describe the most intense phase).
    """

    onset: float = Field(default=0.5, ge=0.0)
    apex: float = Field(default=2.0, ge=0.0)
    offset: float = Field(default=1.0, ge=0.0)
    start: float = Field(default=0.0, ge=0.0)
    keyframes: list[Keyframe] = Field(default_factory=list)

    @field_validator("keyframes")
    @classmethod
    def _sorted(cls, v: list[Keyframe]) -> list[Keyframe]:
        return sorted(v, key=lambda k: k.t)


class EmotionPlan(BaseModel):
    """THINK's output: the chain of thought, the emotion mixture, the AU targets and the timing."""

    text: str  # the emotion text as given
    trace: list[TraceStep]  # ordered chain-of-thought steps
    emotions: list[EmotionWeight]  # mixture, weights sum to 1, highest first
    intensity: float = Field(ge=0.0, le=1.0)  # overall strength 0..1
    valence: float = Field(ge=-1.0, le=1.0)  # unpleasant -1 .. pleasant 1
    arousal: float = Field(ge=-1.0, le=1.0)  # calm -1 .. excited 1
    aus: list[AUTarget]  # targets at the apex, in region order
    timing: Timing
    backend: str  # "knowledge" or "openai" (or "openai->knowledge" after a fallback)
    warnings: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> "EmotionPlan":
        total = sum(e.weight for e in self.emotions)
        if not self.emotions or abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"emotion weights must sum to 1, got {total:.4f}")
        return self

    # ---- convenience -----------------------------------------------------------------------
    @property
    def dominant(self) -> str:
        """Name of the highest-weight emotion."""
        return max(self.emotions, key=lambda e: e.weight).name

    def au_dict(self) -> dict[str, float]:
        """{AU: intensity} at the apex."""
        return {a.au: a.intensity for a in self.aus}

    def duration(self) -> float:
        """Seconds until the plan has played out (last keyframe reached, or offset finished)."""
        tm = self.timing
        if tm.keyframes:
            last = tm.keyframes[-1]
            return last.t + last.ramp + tm.apex
        return tm.start + tm.onset + tm.apex + tm.offset

    # ---- motion space ------------------------------------------------------------------------
    def rig_params(self, t: float | None = None, sustain: bool = False) -> dict[str, float]:
        """Rig channel values {name: value} (all of ``thinkdraw.motion.rig_channels()``).

        ``t`` None: the apex (the AU targets). ``t`` in seconds: the value at that time following
        ``timing`` (keyframes if any, else onset/apex/offset). ``sustain``: hold the apex instead of
        fading out after ``apex`` seconds (for clips longer than the expression).
        Pose and gaze channels are 0.
        """
        from thinkdraw.motion import rig_channels

        if t is None:
            vec = _targets_vector(self.aus)
        else:
            vec = self.rig_curve([float(t)], sustain=sustain)[0]
        return {name: float(v) for name, v in zip(rig_channels(), vec)}

    def rig_curve(self, times: Sequence[float] | np.ndarray, sustain: bool = False) -> np.ndarray:
        """Rig values over time: ``times`` (T,) seconds -> (T, D) float32, D = len(rig_channels())."""
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        tm = self.timing
        if tm.keyframes:
            return _keyframe_curve(tm.keyframes, times)
        env = _envelope(times, tm.start, tm.onset, tm.apex, None if sustain else tm.offset)
        return (env[:, None] * _targets_vector(self.aus)[None, :]).astype(np.float32)


def _ramp(times: np.ndarray, t0: float, length: float) -> np.ndarray:
    """0 before t0, smoothstep up to 1 at t0 + length (a step when length is 0)."""
    if length <= 0.0:
        return (times >= t0).astype(np.float64)
    return smoothstep((times - t0) / length)


def _envelope(times: np.ndarray, start: float, onset: float, apex: float, offset: float | None) -> np.ndarray:
    """(T,) in [0, 1]: rise over onset, hold for apex, fall over offset (None: hold forever)."""
    up = _ramp(times, start, onset)
    if offset is None:
        return up
    end_apex = start + onset + apex
    return up * (1.0 - _ramp(times, end_apex, offset))


def _targets_vector(aus: Sequence[AUTarget]) -> np.ndarray:
    """AU targets -> (D,) float32 rig vector; channels shared by several AUs take the max."""
    from thinkdraw.motion import au_to_channels, channel_index, rig_channels

    idx = channel_index()
    vec = np.zeros(len(rig_channels()), dtype=np.float32)
    for a in aus:
        for ch in au_to_channels(a.au, a.side):
            vec[idx[ch]] = max(vec[idx[ch]], float(a.intensity))
    return vec


def _keyframe_curve(keyframes: Sequence[Keyframe], times: np.ndarray) -> np.ndarray:
    """Piecewise smooth transitions between keyframe targets: (T,) seconds -> (T, D) float32.

    Before the first keyframe the face is neutral. Keyframe k moves from the value reached at t_k
    (which may be mid-transition) to its targets over ramp_k seconds.
    """
    from thinkdraw.motion import rig_channels

    D = len(rig_channels())
    out = np.zeros((times.shape[0], D), dtype=np.float64)
    prev_target = np.zeros(D)
    prev_from = np.zeros(D)
    prev_t, prev_ramp = 0.0, 0.0
    for i, kf in enumerate(keyframes):
        # value at kf.t of the previous transition (possibly unfinished)
        if i == 0:
            start_val = np.zeros(D)
        else:
            a = float(_ramp(np.array([kf.t]), prev_t, prev_ramp)[0])
            start_val = prev_from + (prev_target - prev_from) * a
        target = _targets_vector(kf.aus).astype(np.float64)
        t_end = keyframes[i + 1].t if i + 1 < len(keyframes) else math.inf
        sel = (times >= kf.t) & (times < t_end)
        if np.any(sel):
            a = _ramp(times[sel], kf.t, kf.ramp)[:, None]
            out[sel] = start_val[None] + (target - start_val)[None] * a
        prev_from, prev_target, prev_t, prev_ramp = start_val, target, kf.t, kf.ramp
    return out.astype(np.float32)
