"""write_video: H.264 + AAC mp4 round trip through PyAV, odd sizes, atomic failure."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from thinkdraw.errors import InputError
from thinkdraw.render.video import write_video

av = pytest.importorskip("av")


def _frames(n=20, h=48, w=64):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    return np.stack([np.roll(base, i, axis=1) for i in range(n)])


def test_round_trip_with_audio_tuple(tmp_path):
    sr = 16000
    audio = (0.3 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)).astype(np.float32)
    out = write_video(tmp_path / "a.mp4", _frames(25), fps=25, audio=(audio, sr))
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert v.codec_context.name == "h264"
        assert float(v.average_rate) == pytest.approx(25.0)
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.name == "aac"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 25 and frames[0].shape == (48, 64, 3)


def test_wav_path_iterator_and_odd_size(tmp_path):
    wav = tmp_path / "s.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes((np.sin(np.arange(22050) / 10) * 8000).astype("<i2").tobytes())
    frames = iter(list(_frames(12, 45, 61)))
    out = write_video(tmp_path / "b.mp4", frames, fps=30, audio=wav)
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height) == (62, 46)
        assert len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == 12


def test_failure_leaves_no_file(tmp_path):
    target = tmp_path / "c.mp4"

    def bad():
        yield _frames(1)[0]
        yield np.zeros((10, 10, 3), np.uint8)  # size change -> error mid-write

    with pytest.raises(InputError):
        write_video(target, bad(), fps=25)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError):
        write_video(target, _frames(3).astype(np.float32), fps=25)
    with pytest.raises(InputError):
        write_video(target, _frames(3), fps=25, audio=tmp_path / "missing.wav")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_walks_up_to_the_nearest_existing_folder(tmp_path, monkeypatch):
    import os

    from thinkdraw.errors import InputError
    from thinkdraw.utils.atomic import check_writable

    deep = tmp_path / "new" / "sub" / "out.mp4"  # folders atomic_path will create: fine
    assert check_writable(deep) == deep and not (tmp_path / "new").exists()
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match=r"^cannot write .*/f/x\.mp4: .*/f is not a folder$"):
        check_writable(tmp_path / "f" / "x.mp4")
    # what a check cannot see (/proc as root, a full disk) still ends in one clear error, no file
    from thinkdraw.utils.atomic import atomic_write_bytes

    with pytest.raises(InputError, match=r"^cannot write .*/f/x\.bin: "):
        atomic_write_bytes(tmp_path / "f" / "x.bin", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(InputError, match=r"is not writable$"):
        check_writable(deep)
