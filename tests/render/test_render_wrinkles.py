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
        assert WR.draw_furrows(out, _lm(gap), 100.0, src_gap) == 0.0
        assert np.array_equal(out, img)


def test_furrows_appear_between_brows_only_and_are_deterministic() -> None:
    img = np.full((200, 200, 3), 180, np.uint8)
    src_gap = WR.brow_gap(_lm(30.0), 100.0)
    a, b = img.copy(), img.copy()
    s = WR.draw_furrows(a, _lm(24.0), 100.0, src_gap)
    WR.draw_furrows(b, _lm(24.0), 100.0, src_gap)
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
    assert WR.draw_crows_feet(out, t, ipd, src) > 0.9
    changed = np.argwhere(np.any(out != 200, axis=2))
    assert len(changed) > 0 and out.min() < 185
    xs = changed[:, 1]
    inner = sorted([lm[133, 0], lm[362, 0]])
    assert not np.any((xs > inner[0]) & (xs < inner[1]))  # nothing between the eyes: lateral only
