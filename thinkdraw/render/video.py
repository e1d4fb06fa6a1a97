"""Video out: frames (+ audio) -> H.264 + AAC mp4 through PyAV, written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np

from thinkdraw.errors import BackendError, InputError
from thinkdraw.utils.atomic import atomic_path
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

AudioInput = Union[str, os.PathLike, tuple[np.ndarray, int], None]


def _load_audio(audio: AudioInput) -> tuple[np.ndarray, int] | None:
    """-> (samples (C, N) float32 in [-1, 1], sample rate) or None."""
    if audio is None:
        return None
    if isinstance(audio, tuple):
        samples, sr = audio
        a = np.asarray(samples, dtype=np.float32)
        if np.issubdtype(np.asarray(samples).dtype, np.integer):
            a = a / 32768.0
        a = a[None] if a.ndim == 1 else (a.T if a.shape[0] > a.shape[1] else a)
        return np.ascontiguousarray(np.clip(a, -1, 1)), int(sr)
    path = Path(audio)
    if not path.is_file():
        raise InputError(f"audio file not found: {path}")
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            sr, ch, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            raw = w.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise InputError(f"cannot read wav file {path}: {exc}") from exc
    if width != 2:
        raise InputError(f"wav file {path}: only 16-bit PCM is supported (got {8 * width}-bit)")
    a = np.frombuffer(raw, dtype="<i2").astype(np.float32).reshape(-1, ch).T / 32768.0
    return np.ascontiguousarray(a), sr


def _frames_iter(frames: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise InputError(f"expected frames (T, H, W, 3), got shape {frames.shape}")
        yield from frames
    else:
        yield from frames


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    audio: AudioInput = None,
    crf: int = 20,
) -> Path:
    """Write frames (T, H, W, 3) uint8 RGB (array or iterator) as H.264 (+ AAC audio) mp4.

    Odd frame sizes are padded by one edge pixel to even (H.264 4:2:0 needs even sides). ``audio``
    is a 16-bit wav path or ``(samples, sample_rate)`` (mono (N,) or (C, N)), written as given. Atomic: a temporary file beside ``path`` is renamed at the end, so a
    failure leaves no file. Returns the path.
    """
    import av

    if not fps or fps <= 0:
        raise InputError(f"fps must be positive, got {fps}")
    aud = _load_audio(audio)
    rate = Fraction(fps).limit_denominator(1001)
    n = 0
    with atomic_path(path) as tmp:
        try:
            container = av.open(str(tmp), mode="w")
        except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
            raise BackendError(f"cannot open {path} for writing: {exc}") from exc
        try:
            vs = ast = None
            for frame in _frames_iter(frames):
                f = np.asarray(frame)
                if f.ndim != 3 or f.shape[2] != 3:
                    raise InputError(f"expected frames (H, W, 3), got shape {f.shape}")
                if f.dtype != np.uint8:
                    raise InputError(f"expected uint8 frames, got {f.dtype}")
                h, w = f.shape[:2]
                if h % 2 or w % 2:
                    f = np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                if vs is None:
                    vs = container.add_stream("libx264", rate=rate)
                    vs.width, vs.height = f.shape[1], f.shape[0]
                    vs.pix_fmt = "yuv420p"
                    vs.options = {"crf": str(crf), "preset": "veryfast"}
                    if aud is not None:  # every stream must exist before the first packet
                        ast = container.add_stream("aac", rate=aud[1])
                        ast.layout = "mono" if aud[0].shape[0] == 1 else "stereo"
                elif (f.shape[1], f.shape[0]) != (vs.width, vs.height):
                    raise InputError("all frames must have the same size")
                for pkt in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                    container.mux(pkt)
                n += 1
            if vs is None:
                raise InputError("no frames to write")
            for pkt in vs.encode():
                container.mux(pkt)
            if aud is not None:
                _write_audio(container, ast, *aud)
        finally:
            container.close()
    log.debug("wrote %s: %d frames at %s fps", path, n, fps)
    return Path(path)


def _write_audio(container, ast, samples: np.ndarray, sr: int) -> None:
    import av

    samples = samples[:2]
    ch = samples.shape[0]
    layout = "mono" if ch == 1 else "stereo"
    chunk = 1024
    for s in range(0, samples.shape[1], chunk):
        block = np.ascontiguousarray(samples[:, s : s + chunk]).reshape(1, -1) if ch == 1 else \
            np.ascontiguousarray(samples[:, s : s + chunk].T).reshape(1, -1)
        fr = av.AudioFrame.from_ndarray(block.astype(np.float32), format="flt", layout=layout)
        fr.sample_rate = sr
        fr.pts = s
        for pkt in ast.encode(fr):
            container.mux(pkt)
    for pkt in ast.encode():
        container.mux(pkt)
