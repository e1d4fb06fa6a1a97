"""AU4 furrow overlay: landmark-driven, zero at rest, local, deterministic."""

import numpy as np

from thinkdraw.render import wrinkles as WR


def _lm(gap: float) -> np.ndarray:
    lm = np.zeros((478, 2))
    lm[:, 0], lm[:, 1] = 100.0, 100.0
    lm[WR.INNER_BROWS[0]] = (100.0 - gap / 2, 60.0)
    lm[WR.INNER_BROWS[1]] = (100.0 + gap / 2, 60.0)
    return lm


def test_no_furrows_at_rest_or_when_brows_part() -> None:
    img = np.full((200, 200, 3), 180, np.uint8)
    src_gap = WR.brow_gap(_lm(30.0), 100.0)
    for gap in (30.0, 40.0):
        out = img.copy()
        assert WR.draw_furrows(out, _lm(gap), 100.0, WR.furrow_strength(src_gap, _lm(gap), 100.0)) == 0.0
        assert np.array_equal(out, img)


def test_furrows_appear_between_brows_only_and_are_deterministic() -> None:
    img = np.full((200, 200, 3), 180, np.uint8)
    src_gap = WR.brow_gap(_lm(30.0), 100.0)
    a, b = img.copy(), img.copy()
    s = WR.draw_furrows(a, _lm(24.0), 100.0, WR.furrow_strength(src_gap, _lm(24.0), 100.0))
    WR.draw_furrows(b, _lm(24.0), 100.0, WR.furrow_strength(src_gap, _lm(24.0), 100.0))
    assert s == 1.0 and np.array_equal(a, b)
    changed = np.argwhere(np.any(a != img, axis=2))
    assert len(changed) > 0 and a.min() < 160  # furrow shadows
    assert a.max() <= 180 * 1.06  # only a faint highlight on the skin bunched between them
    ys, xs = changed[:, 0], changed[:, 1]
    assert xs.min() >= 85 and xs.max() <= 115  # between the inner brows
    assert ys.min() >= 55 and ys.max() <= 80  # from the brow line downwards


def test_strength_grows_with_brow_motion() -> None:
    src_gap = WR.brow_gap(_lm(30.0), 100.0)
    s = [WR.furrow_strength(src_gap, _lm(g), 100.0) for g in (30.0, 28.0, 27.0, 20.0)]
    assert s[0] == 0.0 and 0 < s[1] < s[2] < s[3] == 1.0


def test_crows_feet_follow_the_cheek_raiser_only(astronaut) -> None:
    """AU6 (cheek raiser) draws crow's feet beside the outer eye corners; AU7 (lid tightener, no
    cheek lift) and the rest face draw none."""
    from thinkdraw.face.rig import Rig

    img, portrait = astronaut
    rig = Rig(portrait)
    lm = portrait.landmarks
    ipd = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
    src = WR.cheek_rise(lm, ipd)
    assert WR.crow_strength(src, rig.forward({})[0], ipd) == 0.0
    assert WR.crow_strength(src, rig.forward({"AU7": 1.0})[0], ipd) == 0.0
    t = rig.forward({"AU6": 1.0})[0]
    assert WR.crow_strength(src, t, ipd) > 0.9
    out = np.full_like(img, 200)
    assert WR.draw_crows_feet(out, t, ipd, WR.crow_strength(src, t, ipd)) > 0.9
    changed = np.argwhere(np.any(out != 200, axis=2))
    assert len(changed) > 0 and out.min() < 185
    xs = changed[:, 1]
    inner = sorted([lm[133, 0], lm[362, 0]])
    assert not np.any((xs > inner[0]) & (xs < inner[1]))  # nothing between the eyes: lateral only


def _nose_setup(astronaut):
    from thinkdraw.face.rig import Rig

    img, portrait = astronaut
    lm = portrait.landmarks
    ipd = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
    return img, Rig(portrait), lm, ipd, WR.nasal_wall_rise(lm, ipd), WR.cheek_rise(lm, ipd)


def test_nose_folds_follow_the_nose_wrinkler_only(astronaut) -> None:
    """AU9 lifts the lateral nasal walls against the dorsum: folds grow with it. A Duchenne smile
    (AU6 lifts the walls with the cheeks), the photo's own smile neutralised (cheeks fall), the
    other FER emotions and a nod draw none."""
    from thinkdraw.render.cli import emotion_params

    _, rig, _, ipd, wall, cheek = _nose_setup(astronaut)

    def strength(params):
        return WR.nose_strength(wall, cheek, rig.forward(params)[0], ipd)

    assert strength({}) == 0.0  # the astronaut smiles: her neutral lowers the cheeks
    assert strength({"AU6": 1.0, "AU12L": 1.0, "AU12R": 1.0}) == 0.0
    assert strength({"AU10": 1.0}) == 0.0 and strength({"pitch": 1.0}) == 0.0
    for text in ("very happy", "very sad", "very surprised", "very angry", "very afraid"):
        assert strength(emotion_params(text)) == 0.0, text
    s = [strength({"AU9": v}) for v in (0.25, 0.5, 1.0)]
    assert 0.0 < s[0] < s[1] < s[2] and s[2] > 0.9
    assert strength(emotion_params("very disgusted")) > 0.9
    assert strength({"AU9": 1.0, "pitch": 1.0}) > 0.9  # a nod does not hide them


def test_nose_folds_lie_on_the_nose_root(astronaut) -> None:
    """Drawn on a flat grey frame: shadows (darker) and the bunched skin above them (lighter), all
    between the inner eye corners' columns (widened a little) and above the nose tip."""
    img, rig, _, ipd, wall, cheek = _nose_setup(astronaut)
    t = rig.forward({"AU9": 1.0})[0]
    out = np.full_like(img, 200)
    assert WR.draw_nose_lines(out, t, ipd, WR.nose_strength(wall, cheek, t, ipd)) > 0.9
    lum = out.astype(float).mean(2)
    assert lum.min() < 180 and lum.max() > 201  # a fold's shadow and its lit edge
    changed = np.argwhere(np.abs(lum - 200) > 1)
    x_lo, x_hi = sorted([t[133, 0], t[362, 0]])
    pad = 0.08 * ipd
    assert changed[:, 1].min() > x_lo - pad and changed[:, 1].max() < x_hi + pad
    assert changed[:, 0].max() < t[1, 1]  # above the nose tip
    still = np.full_like(img, 200)
    rest = rig.forward({})[0]
    assert WR.draw_nose_lines(still, rest, ipd, WR.nose_strength(wall, cheek, rest, ipd)) == 0.0
    assert np.all(still == 200)


def test_a_turn_or_a_nod_draws_no_creases_but_the_expression_still_does(astronaut) -> None:
    """Crease strengths are measured with the head's pose taken out (3D landmarks): before, a 30
    degree turn drew forehead lines at 0.58 and furrows at 0.25, and a 15 degree nod drew nose
    folds at 0.66 and nasolabial folds (grace_hopper: 1.0)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    on, off = Renderer(img, portrait), Renderer(img, portrait, RenderConfig(wrinkles=False))
    for pose in ({"yaw": 30.0}, {"yaw": -30.0}, {"pitch": 15.0}, {"pitch": -15.0}, {"roll": 20.0}):
        t = rig.forward(pose)[0]
        assert np.array_equal(on.render(t), off.render(t)), pose
    for expression in ({"AU1": 1.0}, {"AU4": 1.0}, {"AU6": 1.0}, {"AU9": 1.0}, {"AU12L": 1.0, "AU12R": 1.0}):
        t = rig.forward({**expression, "yaw": 25.0, "pitch": -10.0})[0]
        assert not np.array_equal(on.render(t), off.render(t)), expression


def test_closing_a_photo_s_open_mouth_draws_no_nasolabial_folds(astronaut) -> None:
    """A photo with the jaw dropped has its lip corners low; the neutralised face raises them, which
    is no smile. Before, the folds were measured from the photo's corners, so the neutral render of
    such a photo drew full-strength folds (6 of 23 registry faces, 3 at full strength)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    open_lm = Rig(portrait).forward({"AU25": 1.0, "AU27": 1.0})[0]  # (478, 3) a wide-open photo
    rig = Rig(landmarks=open_lm)
    assert rig.own_aus["AU26"] > 0.5 and rig.own_aus["AU12L"] == 0.0  # a jaw drop, not a smile
    on, off = Renderer(img, open_lm), Renderer(img, open_lm, RenderConfig(wrinkles=False))
    assert on.fold_lift > on.src_lift + 0.05  # IPDs: the neutral corners sit well above the photo's
    rest = rig.forward({})[0]
    assert np.array_equal(on.render(rest), off.render(rest))
    smile = rig.forward({"AU12L": 1.0, "AU12R": 1.0})[0]
    assert not np.array_equal(on.render(smile), off.render(smile))
