"""Fixtures for SPEECH tests: espeak/piper audio synthesised once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from speech_helpers import SENTENCE


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def espeak_sentence():
    """espeak-ng rendering of SENTENCE with its own phoneme events (ground truth)."""
    from thinkdraw.speech.espeak import Espeak
    from thinkdraw.speech.tts import espeak_phonemes

    res = Espeak.get().synth(SENTENCE)
    return res.audio, res.sample_rate, espeak_phonemes(res.phones, len(res.audio), res.sample_rate)


@pytest.fixture(scope="session")
def espeak_wav(speech_dir, espeak_sentence) -> Path:
    from thinkdraw.speech.audio import write_wav

    audio, sr, _ = espeak_sentence
    return write_wav(speech_dir / "espeak.wav", audio, sr)


@pytest.fixture(scope="session")
def piper_track(speech_dir):
    from thinkdraw.speech.tts import synthesize

    return synthesize("Good morning, the weather is lovely today.", speech_dir / "piper.wav", None, "piper")
