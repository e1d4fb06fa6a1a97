"""Smile-texture removal: the portrait's cheek folds fade when a target lowers its lip corners."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from render_edits import ipd, smile

from thinkdraw.render.warp import Renderer, RenderConfig


@pytest.fixture(scope="module")
def no_cheeks(astronaut):
    """The same renderer with the smile-free cheek plate switched off."""
    img, portrait = astronaut
    return Renderer(img, portrait, RenderConfig(cheek_max=0.0))


def _lm(astronaut) -> np.ndarray:
    return np.asarray(astronaut[1].landmarks, dtype=np.float64)[:, :2]


def _frown(lm: np.ndarray) -> np.ndarray:
    """Lip corners pulled down and in (the opposite of ``smile``): the portrait's smile removed."""
    return smile(lm, -0.6)


def _mid_band_energy(img: np.ndarray, sel: np.ndarray, scale: float) -> float:
    """Mean absolute mid-frequency detail (folds, bulges) of ``img`` over the pixels ``sel``."""
    g = img.astype(np.float32).mean(2)
    band = cv2.GaussianBlur(g, (0, 0), 0.02 * scale) - cv2.GaussianBlur(g, (0, 0), 0.15 * scale)
    return float(np.abs(band[sel]).mean())


def test_no_change_when_the_smile_is_kept_or_added(renderer, no_cheeks, astronaut):
    lm = _lm(astronaut)
    for target in (lm, smile(lm), smile(lm, 0.5)):
        assert renderer.smile_removed(target) == 0.0
        assert np.array_equal(renderer.render(target), no_cheeks.render(target))


def test_cheeks_smoother_when_the_smile_is_removed(renderer, no_cheeks, astronaut):
    target = _frown(_lm(astronaut))
    w = renderer.smile_removed(target)
    assert 0.5 < w <= renderer.config.cheek_max
    on, off = renderer.render(target), no_cheeks.render(target)
    changed = np.any(on != off, axis=2)
    assert changed.any()
    # every change lies in the cheek window, none in the eyes, mouth or background
    fw = renderer.fold_win
    outside = np.ones(changed.shape, bool)
    outside[fw.slices()] = False
    assert not changed[outside].any()
    # cheeks (mask core, in source coordinates; the frown moves them little) lose mid-frequency detail
    core = np.zeros(changed.shape, bool)
    core[fw.slices()] = renderer.fold_plate[..., 3] > 0.8
    assert core.sum() > 200
    s = ipd(astronaut[1].landmarks)
    assert _mid_band_energy(on, core, s) < 0.8 * _mid_band_energy(off, core, s)
    # smoothing, not repainting: the cheeks keep their mean colour (within 6 levels of 255)
    assert np.abs(on[core].astype(float).mean(0) - off[core].astype(float).mean(0)).max() < 6.0


def test_strength_grows_with_the_removed_smile(renderer, astronaut):
    lm = _lm(astronaut)
    ws = [renderer.smile_removed(smile(lm, -k)) for k in (0.0, 0.1, 0.2, 0.6)]
    assert ws[0] == 0.0 and all(a <= b for a, b in zip(ws, ws[1:])) and ws[-1] > ws[1]


def test_cheek_plate_is_deterministic(renderer, astronaut):
    again = Renderer(*astronaut)
    assert np.array_equal(again.fold_plate, renderer.fold_plate)
    target = _frown(_lm(astronaut))
    assert np.array_equal(again.render(target), renderer.render(target))


def test_a_frown_on_an_unsmiling_face_keeps_its_folds(renderer, astronaut, grace):
    """The smile-free plate removes only as much smile as the photo has: a frown (AU15) on the
    astronaut's toothy smile gets it in full; on grace_hopper (no smile: own AU12 <= 0.17) her
    nasolabial folds are her age, and at most a third of the plate (it was all of it)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    frown = {"AU15": 1.0}
    assert renderer.smile_removed(Rig(astronaut[1]).forward(frown)[0]) == renderer.config.cheek_max
    img, portrait, rig = grace
    r = Renderer(img, portrait)
    assert r.own_smile < 0.3 * renderer.own_smile
    assert r.smile_removed(rig.forward(frown)[0]) < 0.35 * r.config.cheek_max
    # 2D landmarks cannot be neutralised: no limit, as before
    flat = Renderer(img, np.asarray(portrait.landmarks)[:, :2])
    assert flat.own_smile == float("inf")
    assert flat.smile_removed(rig.forward(frown)[0]) == flat.config.cheek_max


def test_degenerate_landmarks_give_no_smile_limit_and_no_warnings(astronaut):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = Renderer(astronaut[0], np.zeros((478, 3)))
    assert r.own_smile == float("inf")


def _creased(astronaut) -> np.ndarray:
    """The astronaut with a deep smile crease drawn beside each lip corner, out and up."""
    img, portrait = astronaut
    lm = _lm(astronaut)
    s = ipd(portrait.landmarks)
    mid = (lm[61] + lm[291]) / 2
    out = img.copy()
    for ci in (61, 291):
        u = (lm[ci] - mid) / np.linalg.norm(lm[ci] - mid)
        a, b = lm[ci] + u * 0.02 * s, lm[ci] + u * 0.10 * s + np.array([0.0, -0.06 * s])
        cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), (70, 45, 40), 2, cv2.LINE_AA)
    return out


def test_creases_beside_the_lip_corners_fade_when_the_smile_is_removed(astronaut):
    """Closed and narrowed back (her neutralised face), a toothy smile's corner creases were carried
    along and read as a dark bracket beside each corner; the smile-free plate covers the skin just
    outside each corner too. A kept smile keeps them: they are the photo's."""
    from thinkdraw.eval.corners import corner_shadow
    from thinkdraw.face.rig import Rig

    img, portrait = astronaut
    creased = _creased(astronaut)
    r = Renderer(creased, portrait)
    lm = _lm(astronaut)
    src_depth = corner_shadow(creased, lm)[0]
    assert src_depth > 1.5 * corner_shadow(img, lm)[0]  # the drawn creases are there to measure
    t = Rig(portrait).forward({})[0]
    assert corner_shadow(r.render(t), t)[0] < 0.5 * src_depth  # 0.35 of it now, 0.71 carried along
    assert corner_shadow(r.render(lm), lm)[0] == pytest.approx(src_depth)


def test_corner_shadow_is_zero_on_even_skin_and_grows_with_a_crease(astronaut):
    from thinkdraw.eval.corners import corner_shadow

    lm = _lm(astronaut)
    flat = np.full_like(astronaut[0], 180)
    assert corner_shadow(flat, lm) == (0.0, 0.0)
    depth, share = corner_shadow(_creased((flat, astronaut[1])), lm)
    assert 0.02 < depth < 0.5 and 0.05 < share < 0.6
    assert corner_shadow(flat[:3, :3], lm) == (0.0, 0.0)  # corners outside the frame: nothing to measure


def test_opening_dark_share_counts_the_dark_part_of_the_opening(astronaut):
    """eval.corners.opening_dark_share: on a grey frame with the mouth opening filled bright teeth
    and its outer thirds black, about those thirds' share is dark; a uniformly bright opening has
    none; lips that meet give NaN."""
    from thinkdraw.eval.corners import opening_dark_share
    from thinkdraw.face import mesh as M

    lm = np.asarray(astronaut[1].landmarks, np.float64).copy()
    ring = np.concatenate([lm[list(M.LIPS_INNER_UPPER), :2], lm[list(M.LIPS_INNER_LOWER), :2][::-1]])
    frame = np.full((512, 512, 3), 120, np.uint8)
    cv2.fillPoly(frame, [np.round(ring).astype(np.int32)], (240, 240, 240))
    assert opening_dark_share(frame, lm) == 0.0
    x0, x1 = ring[:, 0].min(), ring[:, 0].max()
    third = (x1 - x0) / 3
    cols = np.arange(512)
    side = (cols < x0 + third) | (cols > x1 - third)
    dark = frame.copy()
    dark[:, side] = np.where(dark[:, side] == 240, 10, dark[:, side])
    share = opening_dark_share(dark, lm)
    assert 0.25 < share < 2 / 3  # the outer thirds of the opening, which tapers to its corners: under 2/3 of it (0.49)
    closed = lm.copy()
    closed[list(M.LIPS_INNER_LOWER), :2] = closed[list(M.LIPS_INNER_UPPER), :2]
    assert np.isnan(opening_dark_share(frame, closed))


def test_teeth_colour_is_the_bright_grey_of_the_opening(astronaut):
    """eval.corners.teeth_colour: an opening with white teeth in its upper half, red tongue in its
    lower half and dark corners reads as the white; an opening of lips and tongue alone has no
    teeth; hue_gap is 0 between greys of any brightness and grows with a tint."""
    from thinkdraw.eval.corners import hue_gap, teeth_colour
    from thinkdraw.face import mesh as M

    lm = np.asarray(astronaut[1].landmarks, np.float64).copy()
    ring = np.concatenate([lm[list(M.LIPS_INNER_UPPER), :2], lm[list(M.LIPS_INNER_LOWER), :2][::-1]])
    frame = np.full((512, 512, 3), 120, np.uint8)
    cv2.fillPoly(frame, [np.round(ring).astype(np.int32)], (180, 60, 70))  # tongue
    red = frame.copy()
    mid = ring[:, 1].mean()
    upper = ring.copy()
    upper[:, 1] = np.minimum(upper[:, 1], mid)
    cv2.fillPoly(frame, [np.round(upper).astype(np.int32)], (235, 232, 222))  # teeth
    frame[:, : int(ring[:, 0].min() + 6)] = 20  # a dark corner
    c = teeth_colour(frame, lm)
    np.testing.assert_allclose(c, (235, 232, 222), atol=1.0)
    assert teeth_colour(red, lm) is None
    assert hue_gap(np.array([100.0, 100, 100]), np.array([220.0, 220, 220])) == 0.0
    assert 5.0 < hue_gap(c, np.array([235.0, 210, 180])) < hue_gap(c, np.array([235.0, 180, 140]))
