"""AU12 nasolabial-fold overlay: zero unless a smile is added, local, darkening only, deterministic."""

import numpy as np

from thinkdraw.render import wrinkles as WR


def _lm() -> np.ndarray:
    """Synthetic landmarks: nose wings at (85|115, 100), lip corners at (75|125, 130); IPD 60 px."""
    lm = np.full((478, 2), 100.0)
    lm[129], lm[358] = (85.0, 100.0), (115.0, 100.0)
    lm[61], lm[291] = (75.0, 130.0), (125.0, 130.0)
    return lm


def test_no_fold_unless_the_corners_rise_above_the_portrait() -> None:
    assert WR.fold_strength(0.1, 0.1) == 0.0 and WR.fold_strength(0.1, 0.0) == 0.0
    img = np.full((200, 200, 3), 170, np.uint8)
    out = img.copy()
    WR.draw_folds(out, _lm(), 60.0, 0.0)
    assert np.array_equal(out, img)


def test_strength_grows_with_the_added_lift() -> None:
    s = [WR.fold_strength(0.0, lift) for lift in (0.0, 0.01, 0.03, 0.2)]
    assert s[0] == 0.0 and 0 < s[1] < s[2] < s[3] == 1.0


def test_folds_darken_beside_nose_and_mouth_only_and_are_deterministic() -> None:
    img = np.full((200, 200, 3), 170, np.uint8)
    a, b = img.copy(), img.copy()
    WR.draw_folds(a, _lm(), 60.0, 1.0)
    WR.draw_folds(b, _lm(), 60.0, 1.0)
    assert np.array_equal(a, b)
    assert a.max() <= 170 and a.min() < 170 * (1 - 0.5 * WR.FOLD_DARKEN)  # darkening only, visible
    changed = np.argwhere(np.any(a != img, axis=2))
    ys, xs = changed[:, 0], changed[:, 1]
    assert ys.min() >= 95 and ys.max() <= 150  # from the nose wings to below the lip corners
    assert not np.any((xs > 90) & (xs < 110))  # never across the philtrum / mouth centre
    assert np.any(xs < 90) and np.any(xs > 110)  # both sides


def test_a_jaw_drop_is_not_read_as_a_smile(renderer, astronaut) -> None:
    """Corner lift is measured against the nose base (skull), not the stomion (which the jaw moves):
    an open mouth draws no smile folds and does not bring back the photo's own smile folds."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.geometry import Similarity

    rig = Rig(astronaut[1])
    ident = Similarity.identity()
    rest = renderer._corner_lift(rig.forward({})[0], ident)
    for prm in ({"AU26": 1.0, "AU25": 1.0}, {"AU27": 1.0}):
        lift = renderer._corner_lift(rig.forward(prm)[0], ident)
        assert rest - 0.2 < lift < rest + 0.005  # the jaw pulls the corners down (a third of the lower lip), never up
    assert renderer._corner_lift(rig.forward({"AU12L": 1.0, "AU12R": 1.0})[0], ident) > rest + 0.05
