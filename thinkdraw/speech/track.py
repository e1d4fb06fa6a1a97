"""SpeechTrack: the value SPEECH hands to DRAW (JSON contract) and its frame-level features.

JSON contract (checked by automated tools): ``audio`` (path), ``duration`` (s), ``sample_rate``
(Hz), ``words`` [{w, start, end}], ``phonemes`` [{p, start, end}] with ``p`` ARPAbet without
stress digits (``SIL`` for pauses), ``warnings`` [str]. Extra fields: ``source``, ``voice``,
``language``, ``prosody`` (100 frames/s F0/energy/voicing series) and ``prosody_summary``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from thinkdraw.speech.phonemes import ARPABET, PHONEME_ID, phoneme_to_viseme_array

FEATURE_NAMES: tuple[str, ...] = ("phoneme_id", "viseme", "log_f0", "energy_db", "voicing")
"""Columns of ``SpeechTrack.features``:

- ``phoneme_id``: index into ``phonemes.ARPABET`` (0 = SIL), as float.
- ``viseme``: viseme class id (``phonemes.viseme_classes()``, 0 = rest), as float.
- ``log_f0``: natural log of F0 in Hz where voiced (about 4.1-6.2), 0 where unvoiced.
- ``energy_db``: RMS energy in dBFS, in [-100, 0].
- ``voicing``: fraction of the frame's prosody frames that are voiced, in [0, 1].
"""


class Word(BaseModel):
    """A word with times in seconds (rounded to 0.1 ms)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    w: str
    start: float
    end: float

    _round = field_validator("start", "end")(lambda v: round(float(v), 4))


class Phoneme(BaseModel):
    """An ARPAbet phoneme (no stress digit) with times in seconds (rounded to 0.1 ms)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    p: str
    start: float
    end: float

    _round = field_validator("start", "end")(lambda v: round(float(v), 4))


class Prosody(BaseModel):
    """Prosody series at ``hop`` seconds per frame; frame i is centred at ``i * hop`` seconds."""

    hop: float = 0.01
    f0: list[float] = Field(default_factory=list, description="Hz, 0 = unvoiced")
    energy_db: list[float] = Field(default_factory=list, description="RMS dBFS")
    voicing: list[float] = Field(default_factory=list, description="0/1")

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], hop: float = 0.01) -> "Prosody":
        return cls(
            hop=hop,
            f0=np.round(arrays["f0"], 2).tolist(),
            energy_db=np.round(arrays["energy_db"], 2).tolist(),
            voicing=arrays["voicing"].astype(float).tolist(),
        )


class SpeechTrack(BaseModel):
    """Speech with timings: audio path, words and phonemes (seconds), prosody, warnings."""

    model_config = ConfigDict(extra="allow")
    audio: str
    duration: float
    sample_rate: int
    words: list[Word] = Field(default_factory=list)
    phonemes: list[Phoneme] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    source: str = ""  # "piper", "espeak", "pocketsphinx-align", "pocketsphinx-recognise", "energy"
    language: str = "en"
    prosody: Prosody | None = None
    prosody_summary: dict[str, float] = Field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the ``features`` columns (same as ``FEATURE_NAMES``)."""
        return FEATURE_NAMES

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def load(cls, path: str | Path) -> "SpeechTrack":
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))

    def n_frames(self, fps: float) -> int:
        """T = ceil(duration * fps)."""
        return int(math.ceil(self.duration * fps - 1e-9))

    def features(self, fps: float) -> np.ndarray:
        """Frame-level features: (T, 5) float32, T = ceil(duration * fps), columns FEATURE_NAMES.

        Frame i covers [i/fps, (i+1)/fps); its phoneme is the one active at the frame centre;
        prosody columns average the 100 Hz prosody frames inside the frame.
        """
        if fps <= 0:
            raise ValueError("fps must be positive")
        T = self.n_frames(fps)
        out = np.zeros((T, len(FEATURE_NAMES)), np.float32)
        if T == 0:
            return out
        centres = (np.arange(T) + 0.5) / fps
        out[:, 0] = self._phoneme_ids_at(centres)
        out[:, 1] = phoneme_to_viseme_array()[out[:, 0].astype(np.int64)]
        if self.prosody is not None and self.prosody.f0:
            out[:, 2:] = self._prosody_at(T, fps)
        else:
            out[:, 3] = -100.0
        return out

    def _phoneme_ids_at(self, times: np.ndarray) -> np.ndarray:
        if not self.phonemes:
            return np.zeros(len(times), np.float32)
        starts = np.array([p.start for p in self.phonemes])
        ends = np.array([p.end for p in self.phonemes])
        ids = np.array([PHONEME_ID.get(p.p, 0) for p in self.phonemes])
        order = np.argsort(starts, kind="stable")
        starts, ends, ids = starts[order], ends[order], ids[order]
        k = np.searchsorted(starts, times, side="right") - 1
        valid = (k >= 0) & (times < ends[np.clip(k, 0, None)])
        return np.where(valid, ids[np.clip(k, 0, None)], 0).astype(np.float32)

    def _prosody_at(self, T: int, fps: float) -> np.ndarray:
        assert self.prosody is not None
        hop = self.prosody.hop
        f0 = np.asarray(self.prosody.f0, np.float64)
        en = np.asarray(self.prosody.energy_db, np.float64)
        vo = np.asarray(self.prosody.voicing, np.float64)
        n = len(f0)
        # prosody frame j -> video frame floor(j * hop * fps); average with bincount (vectorised)
        frame_of = np.minimum((np.arange(n) * hop * fps).astype(np.int64), T - 1)
        count = np.bincount(frame_of, minlength=T).astype(np.float64)
        voiced = vo > 0.5
        logf0 = np.where(voiced & (f0 > 0), np.log(np.maximum(f0, 1e-6)), 0.0)
        n_voiced = np.bincount(frame_of, weights=voiced.astype(float), minlength=T)
        sum_logf0 = np.bincount(frame_of, weights=logf0, minlength=T)
        sum_en = np.bincount(frame_of, weights=en, minlength=T)
        has = count > 0
        # frames that no prosody frame falls in (fps > 100) take the nearest prosody frame
        nearest = np.minimum(np.round((np.arange(T) + 0.5) / fps / hop).astype(np.int64), n - 1)
        energy = np.where(has, sum_en / np.maximum(count, 1), en[nearest])
        voicing = np.where(has, n_voiced / np.maximum(count, 1), vo[nearest])
        lf0 = np.where(n_voiced > 0, sum_logf0 / np.maximum(n_voiced, 1), np.where(has, 0.0, logf0[nearest]))
        return np.stack([lf0, np.clip(energy, -100.0, 0.0), np.clip(voicing, 0, 1)], axis=1).astype(np.float32)


def summarise_prosody(arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """Utterance-level prosody: median/std F0 (Hz) over voiced frames, mean energy of voiced/loud frames."""
    f0 = arrays["f0"]
    voiced = f0[f0 > 0]
    en = arrays["energy_db"]
    loud = en[en > -50]
    return {
        "f0_median_hz": float(np.median(voiced)) if len(voiced) else 0.0,
        "f0_std_hz": float(np.std(voiced)) if len(voiced) else 0.0,
        "voiced_fraction": float(np.mean(f0 > 0)) if len(f0) else 0.0,
        "energy_mean_db": float(np.mean(loud)) if len(loud) else -100.0,
    }


__all__ = ["SpeechTrack", "Word", "Phoneme", "Prosody", "FEATURE_NAMES", "ARPABET", "summarise_prosody"]


def merge_silences(phonemes: list[Phoneme]) -> list[Phoneme]:
    """Merge consecutive ``SIL`` phonemes into one (in place on the kept items); other phonemes kept."""
    out: list[Phoneme] = []
    for p in phonemes:
        if out and p.p == "SIL" and out[-1].p == "SIL":
            out[-1].end = max(out[-1].end, p.end)
        else:
            out.append(p)
    return out
