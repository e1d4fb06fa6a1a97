"""AU1+AU2 forehead-line overlay: zero unless the brows rise, above the brows only, deterministic."""

import numpy as np

from thinkdraw.render import wrinkles as WR


def _lm(raise_px: float = 0.0) -> np.ndarray:
    """Synthetic landmarks: brows around y=80 (raised by ``raise_px``), eye corners at y=100, top at y=20."""
    lm = np.full((478, 2), 100.0)
    for chain, corners, x0 in ((WR.BROWS_UPPER[0], WR.EYE_CORNERS[0], 60.0), (WR.BROWS_UPPER[1], WR.EYE_CORNERS[1], 110.0)):
        for k, i in enumerate(chain):
            lm[i] = (x0 + 7.5 * k, 80.0 - raise_px)
        lm[corners[0]] = (x0, 100.0)
        lm[corners[1]] = (x0 + 30.0, 100.0)
    lm[WR.FOREHEAD_TOP] = (100.0, 20.0)
    return lm


def test_no_lines_at_rest_or_when_brows_lower() -> None:
    img = np.full((200, 200, 3), 175, np.uint8)
    src = WR.brow_height(_lm(), 60.0)
    for r in (0.0, -5.0):
        out = img.copy()
        assert WR.draw_lines(out, _lm(r), 60.0, WR.lines_strength(src, _lm(r), 60.0)) == 0.0
        assert np.array_equal(out, img)


def test_strength_grows_with_the_brow_raise() -> None:
    src = WR.brow_height(_lm(), 60.0)
    s = [WR.lines_strength(src, _lm(r), 60.0) for r in (0.0, 1.0, 2.0, 10.0)]
    assert s[0] == 0.0 and 0 < s[1] < s[2] < s[3] == 1.0


def test_lines_lie_on_the_forehead_and_are_deterministic() -> None:
    img = np.full((200, 200, 3), 175, np.uint8)
    src = WR.brow_height(_lm(), 60.0)
    a, b = img.copy(), img.copy()
    assert WR.draw_lines(a, _lm(8.0), 60.0, WR.lines_strength(src, _lm(8.0), 60.0)) == 1.0
    WR.draw_lines(b, _lm(8.0), 60.0, WR.lines_strength(src, _lm(8.0), 60.0))
    assert np.array_equal(a, b)
    assert a.max() <= 175 and a.min() < 175 * (1 - 0.5 * WR.LINES_DARKEN)
    ys, xs = np.nonzero(np.any(a != img, axis=2))
    assert ys.max() < 72 and ys.min() > 20  # between the raised brows and the forehead top
    assert xs.min() >= 45 and xs.max() <= 155  # not beyond the brows' outer ends


def test_a_blink_or_a_nod_draws_no_forehead_lines_but_raised_brows_do() -> None:
    """The brow height is measured from the eye corners (a closing upper lid used to read as raised
    brows: every blink drew full forehead lines) with the head's pitch taken out."""
    from thinkdraw.face.rig import Rig

    rig = Rig.canonical(iod_px=64.0)
    src = WR.brow_height(rig.forward({})[0], 64.0)

    def strength(params: dict[str, float]) -> float:
        return WR.lines_strength(src, rig.forward(params)[0], 64.0)

    for still in ({"AU43": 1.0}, {"AU45L": 1.0, "AU45R": 1.0}, {"AU6": 1.0}, {"AU5": 1.0}, {"pitch": 15.0},
                  {"pitch": -15.0}, {"yaw": 30.0}, {"roll": 20.0}):
        assert strength(still) < 0.05, still
    assert strength({"AU1": 1.0}) > 0.7 and strength({"AU2L": 1.0, "AU2R": 1.0}) > 0.7
    assert 0.2 < strength({"AU1": 0.5}) < strength({"AU1": 1.0})
