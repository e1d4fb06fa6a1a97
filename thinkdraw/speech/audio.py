"""Audio in and out: streaming decode of any container PyAV reads to 16 kHz mono float32, and
atomic 16-bit PCM wav writing.

Decoding is a generator of blocks so long files never sit in memory as a whole.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from thinkdraw.errors import InputError
from thinkdraw.utils.atomic import atomic_path

TARGET_RATE = 16000
"""Rate of decoded audio (pocketsphinx en-us acoustic model and prosody analysis)."""


def _open(path: Path):  # -> av.container.InputContainer
    import av

    if not path.exists():
        raise InputError(f"audio file not found: {path}")
    if path.is_dir():
        raise InputError(f"audio path is a folder, not a file: {path}")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable audio file: {path} ({exc.__class__.__name__})") from exc
    if not container.streams.audio:
        container.close()
        raise InputError(f"not a readable audio file: {path} (no audio stream)")
    return container


def probe_duration(path: str | Path) -> float | None:
    """Duration in seconds from the container header, or None if the container does not say."""
    container = _open(Path(path))
    try:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / 1_000_000
        return None
    finally:
        container.close()


def source_rate(path: str | Path) -> int:
    """Sample rate of the first audio stream, Hz."""
    container = _open(Path(path))
    try:
        return int(container.streams.audio[0].rate or 0)
    finally:
        container.close()


def stream_decode(
    path: str | Path, rate: int = TARGET_RATE, block_s: float = 10.0, status: dict | None = None
) -> Iterator[np.ndarray]:
    """Yield blocks of about ``block_s`` seconds: (n,) float32 mono in [-1, 1] at ``rate`` Hz.

    Any channel count / sample rate / codec PyAV reads. Unreadable data raises InputError; data
    that breaks off after some audio keeps what decoded and sets ``status['truncated'] = True``.
    """
    import av

    path = Path(path)
    container = _open(path)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pending: list[np.ndarray] = []
    n_pending = 0
    block = int(block_s * rate)
    got_any = False
    try:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    pending.append(arr)
                    n_pending += len(arr)
                    got_any = True
                if n_pending >= block:
                    yield np.concatenate(pending)
                    pending, n_pending = [], 0
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
                got_any = True
        except av.error.FFmpegError as exc:
            if not got_any:
                raise InputError(f"not a readable audio file: {path} ({exc.__class__.__name__})") from exc
            if status is not None:  # truncated/corrupt tail: keep what decoded
                status["truncated"] = True
        if pending:
            yield np.concatenate(pending)
        if not got_any:
            raise InputError(f"no audio samples could be decoded from {path}")
    finally:
        container.close()


def load_audio(path: str | Path, rate: int = TARGET_RATE) -> np.ndarray:
    """Whole file as (n,) float32 mono at ``rate`` (short files only; see stream_decode)."""
    blocks = list(stream_decode(path, rate))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    """float [-1, 1] -> int16 (clipped)."""
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def write_wav(path: str | Path, audio: np.ndarray, rate: int) -> Path:
    """Write mono float audio (n,) in [-1, 1] as 16-bit PCM wav, atomically."""
    path = Path(path)
    try:
        with atomic_path(path, suffix=".wav") as tmp:
            with wave.open(str(tmp), "wb") as wf:
                wf.setnchannels(1)
                wf.setsampwidth(2)
                wf.setframerate(int(rate))
                wf.writeframes(to_int16(audio).tobytes())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Polyphase resampling (scipy.signal.resample_poly), float32 out."""
    if src == dst:
        return x.astype(np.float32, copy=False)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(src), int(dst))
    return resample_poly(x, dst // g, src // g).astype(np.float32)
