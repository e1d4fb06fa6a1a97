"""Helpers for SPEECH tests (a uniquely named module: conftest.py names clash across test areas)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


def encode(
    path: Path, audio: np.ndarray, sr: int, codec: str, rate: int | None = None, stereo: bool = False, layout: str | None = None
) -> Path:
    """Encode mono float audio with PyAV (any container/codec), resampling/upmixing as asked."""
    import av

    rate = rate or sr
    if rate != sr:
        from thinkdraw.speech.audio import resample

        audio = resample(audio, sr, rate)
    layout = layout or ("stereo" if stereo else "mono")
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


