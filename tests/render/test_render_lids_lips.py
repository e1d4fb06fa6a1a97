"""Closed lids continue the skin above them and carry a lash line out to the outer corner; a
closed-over smile gets its lower lip colour back and its upper lip's shade toward the meeting line."""

from __future__ import annotations

import numpy as np
from render_edits import close_eyes

from thinkdraw.face import mesh as M


def _lm(astronaut) -> np.ndarray:
    return np.asarray(astronaut[1].landmarks, dtype=np.float64)


def _patch_mean(img: np.ndarray, p: np.ndarray, r: int) -> np.ndarray:
    x, y = (int(round(v)) for v in p[:2])
    return img[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3).astype(float).mean(0)


def test_closed_lid_matches_the_skin_above_and_has_a_lash_line(renderer, astronaut):
    lm = _lm(astronaut)
    closed = close_eyes(lm)
    out = renderer.render(closed)
    ipd = np.linalg.norm(lm[468, :2] - lm[473, :2])
    for up in (M.RIGHT_EYE_UPPER, M.LEFT_EYE_UPPER):
        mid_rest = lm[up[4], :2]  # where the open upper lid was: now the middle of the closed lid
        margin = closed[up[4], :2]  # the closed lid margin
        lid = _patch_mean(out, (mid_rest + margin) / 2, 1)
        above = _patch_mean(out, mid_rest - np.array([0.0, 0.25 * ipd]), 1)  # upper-lid skin under the brow
        assert np.abs(lid - above).max() < 25, (lid, above)  # the lid continues that skin
        lash = _patch_mean(out, margin + np.array([0.0, 0.01 * ipd]), 0)
        assert lash.mean() < 0.8 * lid.mean()  # a dark lash line where the lids meet


def test_closing_an_open_smile_restores_lower_lip_colour(astronaut):
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    assert rig.own_aus["AU25"] > 0.5  # the photo smiles with parted lips
    t = rig.forward({})[0]
    lower = (t[17, :2] + t[14, :2]) / 2  # middle of the (closed) lower lip
    r = Renderer(img, portrait)
    toned = _patch_mean(r.render(t), lower, 1)
    plain = _patch_mean(Renderer(img, portrait, RenderConfig(lip_tone=0.0)).render(t), lower, 1)

    def chroma(c):
        return c / c.mean()

    # red-vs-green balance moves toward the portrait's lip colour
    lip = chroma(np.asarray(r.lip, float))
    assert abs(chroma(toned)[0] - lip[0]) < abs(chroma(plain)[0] - lip[0])
    assert chroma(toned)[0] - chroma(toned)[1] > chroma(plain)[0] - chroma(plain)[1]


def test_closing_an_open_smile_shades_the_upper_lip_toward_the_line(astronaut):
    # a closed upper lip is darker and redder next to the meeting line than at its border (closed-
    # mouth photos: brightness 0.82 -> 0.50 of the lower lip's, red/green 1.7 -> 2.5); a closed-over
    # smile's stretched upper lip was flat. The border half stays nearly as it was.
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    t = Rig(portrait).forward({})[0]
    shaded = Renderer(img, portrait).render(t)
    flat = Renderer(img, portrait, RenderConfig(upper_lip_shade=(0.0, 0.0, 0.0))).render(t)
    assert not np.array_equal(shaded, flat)
    for border, line in ((0, 13), (37, 82), (267, 312)):  # outer and inner upper lip, three columns
        # near the meeting line: the darkest of three pixels there (the lip is ~4 px tall, so one
        # rounded pixel can sit half-way up the lip)
        lows = [t[border, :2] + f * (t[line, :2] - t[border, :2]) for f in (0.7, 0.8, 0.9)]
        low = min(lows, key=lambda q: _patch_mean(shaded, q, 0).mean() / _patch_mean(flat, q, 0).mean())
        high = t[border, :2] + 0.2 * (t[line, :2] - t[border, :2])  # near the lip's border
        s_low, f_low = _patch_mean(shaded, low, 0), _patch_mean(flat, low, 0)
        assert s_low.mean() < 0.9 * f_low.mean(), (s_low, f_low)  # darker by the line
        assert s_low[0] / s_low[1] > 1.1 * f_low[0] / f_low[1]  # and redder
        s_high, f_high = _patch_mean(shaded, high, 0), _patch_mean(flat, high, 0)
        assert s_high.mean() > 0.95 * f_high.mean()  # the border barely changes


def test_an_eye_narrowed_from_below_keeps_its_upper_lid_and_iris(astronaut):
    # AU6 (cheek raiser) and AU7 (lid tightener) push the lower lid up; the upper margin barely
    # moves. The closed-lid paint is for an upper lid that slid down (AU43/45): it must stay off
    # here (it used to paint a flat skin band over the lashes and the top of the iris).
    from thinkdraw.face.rig import Rig
    from thinkdraw.render import eyes as E
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    with_lids, without = Renderer(img, portrait), Renderer(img, portrait, RenderConfig(lids=False))
    for params in ({"AU6": 1.0}, {"AU7": 1.0}, {"AU6": 1.0, "AU12L": 1.0, "AU12R": 1.0}):
        lm = rig.forward(params)[0]
        assert np.array_equal(with_lids.render(lm), without.render(lm)), params
    closed = rig.forward({"AU43": 1.0})[0]
    assert not np.array_equal(with_lids.render(closed), without.render(closed))
    for up in (M.RIGHT_EYE_UPPER, M.LEFT_EYE_UPPER):  # descent is measured the same on both eyes
        rest = _lm(astronaut)[list(up), :2]
        assert E.upper_lid_descent(closed[list(up), :2], rest) > 0.5 * np.ptp(rest[:, 1])
        assert abs(E.upper_lid_descent(rig.forward({"AU7": 1.0})[0][list(up), :2], rest)) < 0.2 * np.ptp(rest[:, 1])


def test_column_fill_blends_the_lips_above_and_below_a_hole():
    from thinkdraw.render.warp import _fill_columns

    img = np.zeros((30, 8, 3), np.float32)
    img[:10] = (180.0, 60.0, 60.0)  # upper lip
    img[20:] = (220.0, 120.0, 120.0)  # lower lip
    img[10:20] = (250.0, 250.0, 240.0)  # teeth
    hole = np.zeros((30, 8), bool)
    hole[10:20] = True
    out = _fill_columns(img, hole, 1.0)
    col = out[:, 4, 0]
    assert np.all(np.diff(col[9:21]) > 0)  # a monotone blend from the upper lip to the lower
    assert col[9] == 180.0 and col[20] == 220.0  # pixels outside the hole keep their colour
    assert np.all((out[10:20] >= 59.0) & (out[10:20] <= 221.0))  # nothing of the teeth is left
    top = np.zeros((30, 8), bool)
    top[:12] = True  # a hole touching the border takes the colour on its one side
    assert np.allclose(_fill_columns(img, top, 1.0)[:12, :, 0], 250.0)


def test_closing_tone_leaves_a_lip_that_kept_its_colour(renderer, astronaut):
    t = np.asarray(astronaut[1].landmarks, np.float64)
    from thinkdraw.render.raster import points_region

    win = points_region(t[list(M.LIPS_OUTER)], renderer.W, renderer.H, pad=4)
    lip = np.asarray(renderer.lip, np.float32)
    coloured = np.broadcast_to(lip, (*win.shape, 3)).copy()
    renderer._tone_lower_lip(coloured, t, win, 1.0)
    assert np.allclose(coloured, lip, atol=0.5)  # already the lip's colour: untouched
    grey = np.full((*win.shape, 3), float(lip.mean()), np.float32)
    renderer._tone_lower_lip(grey, t, win, 1.0)
    sat = grey.max(2) - grey.min(2)
    assert sat.max() > 0.5 * float(lip.max() - lip.min())  # a pale band takes the lip's colour


def test_lips_closed_over_a_smile_meet_at_a_dark_line(astronaut):
    """Closing the astronaut's toothy smile (her neutralised face) leaves her blanched, stretched
    lips; the stomion must read as a line darker than both lips, or the mouth is one pale band."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    t = Rig(portrait).forward({})[0]
    lum = Renderer(img, portrait).render(t).astype(float).mean(2)

    def at(p):
        return lum[int(round(p[1])), int(round(p[0]))]

    for up, lo, up_out, lo_out in ((82, 87, 37, 84), (13, 14, 0, 17), (312, 317, 267, 314)):
        stomion = at((t[up] + t[lo]) / 2)
        lips = min(at((t[up_out] + t[up]) / 2), at((t[lo_out] + t[lo]) / 2))
        assert stomion < 0.8 * lips, (up, stomion, lips)  # 0.69-0.78 now; 0.83-0.87 with the faint line, 0.86 at 312 when the line was 1.2 px wide and its centre fell between two rows


def test_lips_box_is_warped_exactly_not_on_the_lattice(astronaut):
    """Where a toothy mouth closes, the mouth hole collapses to a line and the map jumps from the
    upper lip to the lower one; interpolated on the 2-px lattice it sampled the teeth in stair steps
    along the stomion. Inside the target lips' box the map is the exact per-pixel one."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    t = Rig(portrait).forward({"AU15": 1.0, "AU17": 1.0})[0]
    coarse, exact = Renderer(img, portrait), Renderer(img, portrait, RenderConfig(map_step=1))
    region, mx, my, dst, _ = coarse.maps(t)
    ref_region, ex, ey, _, _ = exact.maps(t)
    win = coarse.lips_window(dst)
    assert win is not None and exact.lips_window(dst) is not None
    assert coarse.lips_window(coarse.src) is None  # nothing moved: no window

    def box(m, r):
        return m[win.y0 - r.y0 : win.y1 - r.y0, win.x0 - r.x0 : win.x1 - r.x0]

    assert region == ref_region
    assert np.allclose(box(mx, region), box(ex, region), atol=1e-3)
    assert np.allclose(box(my, region), box(ey, region), atol=1e-3)
    assert not np.allclose(mx, ex, atol=1e-3)  # outside it the lattice is kept (map_step=2's speed)


def test_closing_a_smile_leaves_no_edge_at_its_window(astronaut):
    """The painted-shut mouth is sampled as the frame samples the portrait (prefiltered where the
    closing lips squeeze it) and only where it was painted. Pasted over its whole window, its plain
    bilinear samples beside the frame's filtered ones drew the window's rectangle (up to 10 levels
    along its edge on these frowns and pressed lips)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.raster import points_region
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    rig, r = Rig(portrait), Renderer(img, portrait)
    unsealed = Renderer(img, portrait)
    unsealed.mouth_clean = None  # the frame as it is without the closed-over mouth
    for params in ({"AU15": 1.0}, {"AU17": 1.0, "AU24": 1.0}, {"AU23": 1.0}):
        t = rig.forward(params)[0]
        on, off = r.render(t), unsealed.render(t)
        assert np.any(on != off)  # the mouth was closed over
        win = points_region(t[list(M.LIPS_OUTER), :2], r.W, r.H, pad=int(0.08 * r.ipd) + 2)
        d = np.abs(on.astype(int) - off.astype(int)).max(2)[win.slices()]
        edge = np.concatenate([d[:2].ravel(), d[-2:].ravel(), d[:, :2].ravel(), d[:, -2:].ravel()])
        assert edge.max() <= 1, params


def test_the_closed_lash_line_reaches_the_outer_corner_not_the_inner_one():
    # lashes grow out to the lateral canthus; the margin's inner sixth (medial to the lacrimal
    # punctum) has none. A flat skin patch, one eye 100 px wide, fully closed.
    from thinkdraw.render import eyes as E

    up_ids, lo_ids = M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER  # outer corner first
    x = np.linspace(150.0, 50.0, len(up_ids))  # outer corner on the right of the image here
    arch = 12.0 * np.sin(np.linspace(0, np.pi, len(up_ids)))
    rest = np.stack([x, 100.0 - arch], 1)
    closed = np.stack([x, 100.0 + 0.3 * arch], 1)  # margin down on the lower lid
    target = np.zeros((478, 2))
    target[list(up_ids)] = closed
    target[list(lo_ids)] = np.stack([x, 100.0 + 0.35 * arch], 1)
    skin = np.array([200.0, 160.0, 140.0])
    lid = E.LidModel(up_ids, lo_ids, skin, np.array([40.0, 30.0, 30.0]), 16.0)  # rest opening, px
    out = np.full((200, 200, 3), skin, np.uint8)
    assert E.draw_lid(out, lid, target, rest, 1.0, 160.0) > 0.9
    lum = out.astype(float).mean(2)

    def darkest_near(t: float) -> float:  # t: 0 outer corner .. 1 inner corner, along the margin
        px = 150.0 - 100.0 * t
        col = lum[:, int(round(px))]
        return float(col.min())

    flat = float(skin.mean())
    outer, inner = darkest_near(0.06), darkest_near(0.94)  # 6 % of the width from either corner
    assert outer < 0.65 * flat, outer  # the full lash line (0.78 when it faded over a fifth of the width)
    assert inner - outer > 0.1 * flat, (outer, inner)  # a faint one at most


def test_the_closed_lips_seam_is_anti_aliased_along_the_line_only(renderer, astronaut):
    """Where a toothy mouth closes, the backward map folds at the lips' meeting line: each pixel
    samples the upper or the lower lip, so a sloping line came out as hard pixel steps (visible at a
    sad mouth's lowered corners). A hard two-tone edge along the target's sad meeting line gets
    intermediate rows; pixels away from the line, and frames that close nothing, are untouched."""
    from thinkdraw.face.rig import Rig
    img, portrait = astronaut
    t = Rig(portrait).forward({"AU15": 0.8, "AU17": 0.5})[0][:, :2]
    mid = 0.5 * (t[list(M.LIPS_INNER_UPPER)] + t[list(M.LIPS_INNER_LOWER)])
    H, W = img.shape[:2]
    ys, xs = np.mgrid[0:H, 0:W]
    order = np.argsort(mid[:, 0])
    line = np.interp(np.arange(W), mid[order, 0], mid[order, 1])
    frame = np.where((ys > np.round(line)[None, :])[..., None], 80, 200).astype(np.uint8).repeat(3, 2)
    cols = np.arange(int(mid[:, 0].min()) + 2, int(mid[:, 0].max()) - 1)
    jump = lambda f: max(int(np.abs(np.diff(f[:, c, 0].astype(int))).max()) for c in cols)  # noqa: E731

    out = frame.copy()
    renderer._antialias_lip_seam(out, t, 1.0)
    assert jump(frame) == 120 and jump(out) < 70, jump(out)
    far = np.abs(ys - line[None, :]) > 4
    assert np.array_equal(out[far], frame[far])
    same = frame.copy()
    renderer._antialias_lip_seam(same, t, 0.0)
    assert np.array_equal(same, frame)
