"""Monochrome portraits: the drawn parts (mouth interior, lip line, creases) take the photo's tone."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from thinkdraw.face.analyze import analyze_portrait
from thinkdraw.face.rig import Rig
from thinkdraw.render.raster import Region
from thinkdraw.render.tone import MONO_SPREAD, fit_tone
from thinkdraw.render.warp import Renderer, RenderConfig

# an open mouth (cavity, teeth, tongue), a closed toothy smile (contact line), a frown (creases)
_EXPRESSIONS = ({"AU25": 1.0, "AU26": 1.0}, {}, {"AU4": 1.0, "AU15": 1.0, "AU17": 0.6})


def _toned(img: np.ndarray, gains: tuple[float, float, float], offsets: tuple[float, float, float]) -> np.ndarray:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.clip(np.stack([g * k + o for k, o in zip(gains, offsets)], 2) + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def grey(astronaut):
    img = _toned(astronaut[0], (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    return img, analyze_portrait(img)


def test_a_black_and_white_portrait_is_rendered_without_colour(grey) -> None:
    img, portrait = grey
    rig, r = Rig(portrait), Renderer(img, portrait)
    assert r.tone is not None
    for params in _EXPRESSIONS:
        frame = r.render(rig.forward(params)[0])
        assert (frame != img).any()  # something moved and was drawn
        chroma = frame.max(2).astype(int) - frame.min(2)
        assert chroma.max() == 0, params  # teeth, cavity and lip line were cream, red and brown


def test_without_the_tone_curve_the_drawn_parts_are_coloured(grey) -> None:
    """The test above can fail: the mouth interior and lip line are drawn in colour on their own."""
    img, portrait = grey
    rig, r = Rig(portrait), Renderer(img, portrait, RenderConfig(tone=False))
    assert r.tone is None
    frame = r.render(rig.forward(_EXPRESSIONS[0])[0])
    assert (frame.max(2).astype(int) - frame.min(2)).max() > 10


def test_a_sepia_portrait_keeps_its_tone_in_the_open_mouth(astronaut) -> None:
    img = _toned(astronaut[0], (1.07, 0.95, 0.72), (10.0, 5.0, 0.0))
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])  # as it would come from a scan
    img = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    portrait = analyze_portrait(img)
    rig, r = Rig(portrait), Renderer(img, portrait)
    assert r.tone is not None and r.tone.spread <= MONO_SPREAD
    frame = r.render(rig.forward(_EXPRESSIONS[0])[0])
    drawn = np.abs(frame.astype(int) - img).max(2) > 0
    off = np.abs(frame.astype(int) - r.tone.lut[cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)]).max(2)
    # the photo's own pixels may lie off its curve (JPEG colour bleeding); the mouth's may not
    mouth = portrait.landmarks[[61, 291, 0, 17], :2]
    x0, y0 = np.floor(mouth.min(0)).astype(int)
    x1, y1 = np.ceil(mouth.max(0)).astype(int)
    box = np.zeros(drawn.shape, bool)
    box[y0 : y1 + 20, x0 : x1 + 1] = True  # the lower lip drops with the jaw
    assert drawn[box].sum() > 200
    assert off[box & drawn].max() <= r.tone.spread + 1


def test_colour_portraits_are_left_alone(astronaut, grace) -> None:
    for img in (astronaut[0], grace[0]):
        assert fit_tone(img) is None
    # nor a grey photo with its colour kept in one part (the face and suit, a sixteenth of it)
    mixed = _toned(astronaut[0], (1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    mixed[128:256, 128:256] = astronaut[0][128:256, 128:256]
    assert fit_tone(mixed) is None


def test_the_curve_moves_only_pixels_off_it() -> None:
    img = np.repeat(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], 64, 0).repeat(3, 2)
    tone = fit_tone(img)
    assert tone is not None and tone.spread == 0
    out = img.copy()
    out[10:20, 100:110] = (180, 40, 40)  # a red patch drawn over the grey ramp
    tone.apply(out, Region(0, 0, 256, 64))
    assert (out.max(2) == out.min(2)).all()
    assert np.array_equal(out[30:], img[30:])
    lum = int(cv2.cvtColor(np.array([[[180, 40, 40]]], np.uint8), cv2.COLOR_RGB2GRAY)[0, 0])
    assert (out[10:20, 100:110] == lum).all()  # its brightness stays
