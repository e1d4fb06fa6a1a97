"""Robust image loading: any common file (or its bytes) -> (H, W, 3) uint8 RGB.

Handles EXIF orientation, grayscale, alpha (composited on white), 16-bit and float images,
palette images and CMYK. Rejects corrupt files, images smaller than ``MIN_SIDE`` on the short side
and images above ``MAX_SIDE`` pixels on the long side or ``MAX_PIXELS`` in total, with one-line
:class:`~thinkdraw.errors.InputError` messages.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np

from thinkdraw.errors import InputError

MIN_SIDE = 64
"""Smallest accepted short side in pixels."""
MAX_SIDE = 12000
"""Largest accepted long side in pixels (8000 px portraits are fine)."""
MAX_PIXELS = 100_000_000
"""Largest accepted pixel count (100 MP)."""

ImageSource = Union[str, os.PathLike, bytes, bytearray, np.ndarray]


def _name(src: ImageSource) -> str:
    if isinstance(src, (bytes, bytearray)):
        return "<bytes>"
    return str(src)


def _check_size(w: int, h: int, name: str) -> None:
    if min(w, h) < MIN_SIDE:
        raise InputError(f"image {name} is too small ({w}x{h}); the short side must be >= {MIN_SIDE} px")
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        raise InputError(
            f"image {name} is too large ({w}x{h}); at most {MAX_SIDE} px per side and "
            f"{MAX_PIXELS // 1_000_000} MP"
        )


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale an integer/float array of any depth to uint8 (16-bit: >> 8; float: [0,1] or range)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        hi = int(arr.max()) if arr.size else 0
        if hi <= 255:
            return np.clip(arr, 0, 255).astype(np.uint8)
        if hi <= 65535:
            return (np.clip(arr, 0, 65535).astype(np.uint32) >> 8).astype(np.uint8)
        return (arr.astype(np.float64) / hi * 255.0 + 0.5).astype(np.uint8)
    a = np.nan_to_num(arr.astype(np.float64))
    if a.size and a.max() > 1.0:
        a = a / max(a.max(), 1e-9)
    return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _array_to_rgb(arr: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1|2|3|4) any dtype -> (H, W, 3) uint8; alpha composited on white."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"unsupported image array shape {arr.shape}")
    arr = _to_uint8(arr)
    c = arr.shape[2]
    if c in (2, 4):
        color = arr[:, :, : c - 1].astype(np.float32)
        alpha = arr[:, :, c - 1 : c].astype(np.float32) / 255.0
        arr = (color * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr)


def _pil_to_rgb(img) -> np.ndarray:  # img: PIL.Image.Image
    from PIL import ImageOps

    try:
        img = ImageOps.exif_transpose(img)
    except (OSError, ValueError, KeyError, SyntaxError):
        pass  # broken EXIF: keep the stored orientation
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        img = img.convert("RGB")
    elif mode == "1":
        img = img.convert("L")
    elif mode == "PA":
        img = img.convert("RGBA")
    return _array_to_rgb(np.asarray(img))


def load_image(src: ImageSource) -> np.ndarray:
    """Load a portrait as ``(H, W, 3) uint8`` RGB.

    src: a path, encoded file bytes, or an already-decoded array ((H, W), (H, W, 3|4), any depth).
    Raises InputError (one line) for a missing/corrupt/non-image file or an image outside the
    size limits (short side >= 64 px; long side <= 12000 px and <= 100 MP).
    """
    if isinstance(src, np.ndarray):
        arr = _array_to_rgb(src)
        _check_size(arr.shape[1], arr.shape[0], "<array>")
        return arr

    from PIL import Image, UnidentifiedImageError

    name = _name(src)
    if isinstance(src, (bytes, bytearray)):
        if len(src) == 0:
            raise InputError("image <bytes> is empty")
        fp: object = io.BytesIO(bytes(src))
    else:
        from thinkdraw.samples import SAMPLE_NAMES, is_sample, load_sample

        if is_sample(src):  # bundled public-domain portraits: "astronaut", "grace_hopper"
            return load_sample(str(src))
        path = Path(src)
        if not path.exists():
            hint = f" (bundled samples: {', '.join(SAMPLE_NAMES)})" if path.suffix == "" else ""
            raise InputError(f"image {name} not found{hint}")
        if not path.is_file():
            raise InputError(f"image {name} is not a file")
        fp = path
    old_max = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # we enforce our own limits below, before decoding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(fp) as img:  # type: ignore[arg-type]
                w, h = img.size
                _check_size(w, h, name)
                img.load()
                arr = _pil_to_rgb(img)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{name} is not a readable image file") from None
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise InputError(f"image {name} is corrupt or unreadable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_max
    h2, w2 = arr.shape[:2]
    _check_size(w2, h2, name)
    return arr
