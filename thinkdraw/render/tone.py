"""Monochrome portraits (black-and-white, sepia, cyanotype) keep their toning in the drawn parts.

The mouth interior, the lips' contact line, creases and lids are drawn in colours made from the
portrait's own (teeth off-white, cavity dark red-brown, shadows turned warm). On a photo that has
no colour these parts were the only colour in the frame: cream teeth and a red mouth in a black-
and-white portrait. A toned photo's colour is a function of its brightness alone (its tone curve),
so a drawn pixel is put back on that curve: the curve's colour at the pixel's own luminance.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from thinkdraw.render.raster import Region

MONO_SPREAD = 20.0
"""A portrait counts as monochrome when 99 % of its pixels lie within this many levels (0-255, any
channel) of its tone curve. A grey photo lies on it exactly; a sepia or cyan-toned one saved as
JPEG at quality 95-50 lies 9-15 levels off (chroma is subsampled, so colour bleeds across edges);
the 23 colour photos of bench/faces.py and the bundled portraits, painted and pencil versions
included, 32 or more (skin against lips, hair, sky or clothes)."""
_SAMPLE_SIDE = 512
"""The tone curve is fitted on a copy at most this many pixels on its long side (speed only)."""


@dataclass(frozen=True)
class ToneCurve:
    """The colour of a monochrome portrait at each luminance level, and its spread around it."""

    lut: np.ndarray  # (256, 3) uint8 RGB at luminance 0..255 (OpenCV's RGB2GRAY weights)
    spread: float  # 99th percentile of the portrait's pixels' distance from the curve (0-255 levels)

    def apply(self, out: np.ndarray, win: Region) -> None:
        """Put the pixels of ``out`` (H, W, 3) uint8 RGB inside ``win`` that lie further from the
        curve than the portrait's own pixels do onto it, in place: the photo's pixels stay as they
        are, a colour drawn over them takes the photo's tone at its brightness."""
        if win.empty:
            return
        patch = out[win.slices()]
        target = self.lut[cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)]
        off = np.abs(patch.astype(np.int16) - target).max(2) > self.spread
        if off.any():
            patch[off] = target[off]


def fit_tone(image: np.ndarray) -> ToneCurve | None:
    """``image`` (H, W, 3) uint8 RGB -> its tone curve when it is monochrome (grey or toned), else None.

    Per luminance level, the mean colour of the pixels at that level; levels no pixel has are
    interpolated from their neighbours."""
    img = np.asarray(image)
    h, w = img.shape[:2]
    k = _SAMPLE_SIDE / max(h, w)
    if k < 1.0:  # nearest neighbour: an area average would blend neighbours and hide colour edges
        img = cv2.resize(img, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_NEAREST)
    px = img.reshape(-1, 3)
    lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).ravel()
    count = np.bincount(lum, minlength=256).astype(np.float64)
    seen = count > 0
    levels = np.arange(256)
    lut = np.empty((256, 3))
    for c in range(3):  # three channels, not pixels
        mean = np.bincount(lum, weights=px[:, c], minlength=256)[seen] / count[seen]
        lut[:, c] = np.interp(levels, levels[seen], mean)
    lut = np.clip(np.round(lut), 0, 255).astype(np.uint8)
    dist = np.abs(px.astype(np.int16) - lut[lum]).max(1)
    spread = float(np.percentile(dist, 99))
    if spread > MONO_SPREAD:
        return None
    return ToneCurve(lut, spread)
