"""Fixtures for SPEECH tests: espeak/piper audio synthesised once per session, encoded with PyAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def encode(path: Path, audio: np.ndarray, sr: int, codec: str, rate: int | None = None, stereo: bool = False) -> Path:
    """Encode mono float audio with PyAV (any container/codec), resampling/upmixing as asked."""
    import av

    rate = rate or sr
    if rate != sr:
        from thinkdraw.speech.audio import resample

        audio = resample(audio, sr, rate)
    layout = "stereo" if stereo else "mono"
    data = np.clip(audio, -1, 1).astype(np.float32)
    with av.open(str(path), "w") as out:
        st = out.add_stream(codec, rate=rate, layout=layout)
        fmt = st.codec_context.format.name if st.codec_context.format else "fltp"
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        frame = av.AudioFrame.from_ndarray(data[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for f in resampler.resample(frame) + resampler.resample(None):
            for pkt in st.encode(f):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    return path


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
