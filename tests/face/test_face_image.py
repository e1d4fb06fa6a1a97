"""load_image: orientation, colour modes, depth, corrupt and out-of-range sizes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from thinkdraw.errors import InputError
from thinkdraw.face.image import load_image


def _png(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def test_rgb_png_roundtrip(astronaut):
    out = load_image(_png(astronaut))
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    assert np.array_equal(out, astronaut)


def test_exif_orientation_is_applied():
    arr = np.zeros((100, 200, 3), np.uint8)
    arr[:, :100] = 255  # left half white
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW when displayed
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    out = load_image(buf.getvalue())
    assert out.shape == (200, 100, 3)
    assert out[:90].mean() > 200 and out[110:].mean() < 50  # white half now on top


def test_grayscale_becomes_rgb():
    g = (np.arange(100 * 120) % 256).astype(np.uint8).reshape(100, 120)
    out = load_image(_png(g))
    assert out.shape == (100, 120, 3)
    assert np.array_equal(out[:, :, 0], g) and np.array_equal(out[:, :, 2], g)


def test_rgba_composited_on_white():
    a = np.zeros((80, 80, 4), np.uint8)
    a[..., 0] = 200
    a[:40, :, 3] = 255  # top opaque red-ish, bottom transparent
    out = load_image(_png(a, "RGBA"))
    assert out.shape == (80, 80, 3)
    assert tuple(out[10, 10]) == (200, 0, 0)
    assert tuple(out[70, 10]) == (255, 255, 255)


def test_16bit_grayscale():
    g16 = (np.linspace(0, 65535, 96 * 96).reshape(96, 96)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(g16).save(buf, format="PNG")
    out = load_image(buf.getvalue())
    assert out.dtype == np.uint8 and out.shape == (96, 96, 3)
    assert out.max() == 255 and out.min() == 0


def test_palette_image():
    img = Image.fromarray(np.full((70, 90, 3), (10, 120, 240), np.uint8)).convert("P", palette=Image.ADAPTIVE)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    out = load_image(buf.getvalue())
    assert out.shape == (70, 90, 3)
    assert np.abs(out[5, 5].astype(int) - (10, 120, 240)).max() <= 8


def test_corrupt_bytes_raise_one_line():
    with pytest.raises(InputError) as e:
        load_image(b"this is not an image at all")
    assert "not a readable image" in str(e.value) and "\n" not in str(e.value)


def test_truncated_png(astronaut):
    data = _png(astronaut)[:2000]
    with pytest.raises(InputError, match="corrupt or unreadable"):
        load_image(data)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")


def test_tiny_image_rejected():
    with pytest.raises(InputError, match="too small"):
        load_image(_png(np.zeros((40, 300, 3), np.uint8)))


def test_huge_image_rejected_without_decoding(tmp_path):
    # A 13000 x 64 PNG is small on disk but above the long-side limit.
    with pytest.raises(InputError, match="too large"):
        load_image(_png(np.zeros((64, 13000), np.uint8)))


def test_8000px_accepted():
    out = load_image(_png(np.zeros((64, 8000), np.uint8)))
    assert out.shape == (64, 8000, 3)


def test_array_input_float_and_alpha():
    a = np.ones((70, 70, 4), np.float32)
    a[..., 3] = 0.0
    out = load_image(a)
    assert out.dtype == np.uint8 and (out == 255).all()
