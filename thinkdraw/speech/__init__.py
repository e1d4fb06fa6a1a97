"""SPEECH: text or recorded audio in, speech with phoneme timings and prosody out.

Public API (imported lazily so that ``import thinkdraw.speech`` stays cheap):

- :class:`SpeechTrack` (``track.py``): the JSON contract + ``features(fps)``.
- :func:`synthesize` (``tts.py``): text -> wav + SpeechTrack (piper or espeak-ng voice).
- :func:`align` (``align.py``): audio file (+ transcript) -> SpeechTrack (pocketsphinx).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SpeechTrack", "FEATURE_NAMES", "synthesize", "align"]


def __getattr__(name: str) -> Any:
    if name in ("SpeechTrack", "FEATURE_NAMES"):
        from thinkdraw.speech import track

        return getattr(track, name)
    if name == "synthesize":
        from thinkdraw.speech.tts import synthesize

        return synthesize
    if name == "align":
        from thinkdraw.speech.align import align

        return align
    raise AttributeError(name)
