"""Bundled sample portraits: public-domain images that ship inside installed packages.

``thinkdraw render astronaut ...`` works on a fresh machine with no image of one's own:
``astronaut`` is scikit-image's ``data.astronaut()`` (Eileen Collins, NASA, public domain) and
``grace_hopper`` is matplotlib's ``sample_data/grace_hopper.jpg`` (US Navy, public domain).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_NAMES: tuple[str, ...] = ("astronaut", "grace_hopper")


def is_sample(name: str | Path) -> bool:
    """True when ``name`` names a bundled sample and is not an existing file."""
    return str(name) in SAMPLE_NAMES and not Path(str(name)).exists()


def sample_path(name: str) -> Path | None:
    """Path of a sample that exists as a file inside a package, else None (astronaut is an array)."""
    if name == "grace_hopper":
        import matplotlib

        return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return None


def load_sample(name: str) -> np.ndarray:
    """Return the sample portrait as (H, W, 3) uint8 RGB."""
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut()[..., :3])
    if name == "grace_hopper":
        from PIL import Image

        with Image.open(sample_path(name)) as im:
            return np.asarray(im.convert("RGB"))
    raise KeyError(f"unknown sample portrait {name!r}; bundled: {', '.join(SAMPLE_NAMES)}")
