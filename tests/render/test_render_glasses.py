"""Rigid eyeglasses: the gate, an unchanged no-glasses portrait, a frame that ignores the brows."""

from __future__ import annotations

import numpy as np
import pytest
from render_edits import close_eyes, jaw_drop, smile

from thinkdraw.face import mesh as M
from thinkdraw.render import glasses as GL
from thinkdraw.render.warp import Renderer, RenderConfig

BROWS_UP = {"AU1": 1.0, "AU2L": 1.0, "AU2R": 1.0}


@pytest.fixture(scope="module")
def grace_renderer(grace):
    return Renderer(grace[0], grace[1])


def _ipd(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[468, :2] - lm[473, :2]))


def _frame_mask(r: Renderer) -> np.ndarray:
    """The detected frame core as a full-image boolean mask."""
    m = np.zeros((r.H, r.W), bool)
    m[r.glasses.win.slices()] = r.glasses.core > 0
    return m


def _dark_centroid(img: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Centroid (x, y) of the near-black rim pixels inside ``sel``, weighted by darkness."""
    w = np.clip(80.0 - img.min(2).astype(float), 0, None) * sel
    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()


def test_gate(grace, astronaut):
    g_img, g_por, _ = grace
    a_img, a_por = astronaut
    g_lm = np.asarray(g_por.landmarks)[:, :2]
    a_lm = np.asarray(a_por.landmarks)[:, :2]
    g_ok, g_score, g_dip = GL.has_glasses(g_img, g_lm, _ipd(g_lm))
    a_ok, a_score, a_dip = GL.has_glasses(a_img, a_lm, _ipd(a_lm))
    assert g_ok and not a_ok
    # both features with a margin (measured: grace 11.4 / 0.64, astronaut 1.7 / 0.01)
    assert g_score > 1.3 * GL.GATE_SCORE and a_score < 0.4 * GL.GATE_SCORE, (g_score, a_score)
    assert g_dip > 2 * GL.GATE_DIP and a_dip < 0.5 * GL.GATE_DIP, (g_dip, a_dip)
    assert GL.detect(g_img, g_lm, _ipd(g_lm)) is not None
    assert GL.detect(a_img, a_lm, _ipd(a_lm)) is None


@pytest.mark.parametrize("zoom", [0.5, 2.0, 4.0])
def test_gate_does_not_depend_on_resolution(grace, astronaut, zoom):
    """The same photos at half, double and four times the size: same verdict (the bridge score is
    measured at a fixed interpupillary distance)."""
    import cv2

    from thinkdraw.face.analyze import analyze_portrait

    for img, expected in ((grace[0], True), (astronaut[0], False)):
        im = cv2.resize(img, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA if zoom < 1 else cv2.INTER_CUBIC)
        lm = np.asarray(analyze_portrait(im).landmarks)[:, :2]
        assert GL.has_glasses(im, lm, _ipd(lm))[0] is expected


def test_no_glasses_portrait_renders_unchanged(renderer, astronaut):
    img, portrait = astronaut
    assert renderer.glasses is None
    off = Renderer(img, portrait, RenderConfig(glasses=False))
    lm = np.asarray(portrait.landmarks, dtype=np.float64)
    moved = lm.copy()
    moved[:, :2] = (moved[:, :2] - 256.0) @ np.array([[0.996, -0.087], [0.087, 0.996]]).T + 259.0  # head roll + shift
    for t in (lm, smile(lm), close_eyes(jaw_drop(lm)), moved):
        assert np.array_equal(renderer.render(t), off.render(t))


def test_frame_mask_is_the_upper_frame(grace_renderer, grace):
    r = grace_renderer
    lm = np.asarray(grace[1].landmarks)[:, :2]
    m = _frame_mask(r)
    ipd = _ipd(lm)
    assert m.sum() > 0.3 * ipd * ipd  # both top rims and the bridge, not a few specks
    ys, xs = np.nonzero(m)
    # spans from beyond one outer eye corner to beyond the other, crossing the bridge
    assert xs.min() < lm[33, 0] - 0.2 * ipd and xs.max() > lm[263, 0] + 0.2 * ipd
    assert m[int(lm[168, 1]) - 8 : int(lm[168, 1]) + 8, int(lm[168, 0])].any()
    # nothing of the eye openings, nothing below the lower lids (wrinkles seen through the lens)
    for ids in (M.RIGHT_EYE_LOWER, M.LEFT_EYE_LOWER):
        for x, y in lm[list(ids)]:
            assert not m[int(y) + 2 :, int(x)].any()


def test_rim_stays_while_brows_rise(grace_renderer, grace):
    img, portrait, rig = grace
    r = grace_renderer
    src_lm = np.asarray(portrait.landmarks)[:, :2]
    t = rig.forward(BROWS_UP)[0]
    brows = list(M.RIGHT_BROW + M.LEFT_BROW)
    lift = float(np.mean(src_lm[brows, 1] - t[brows, 1]))
    assert lift > 4.0  # the brows really move several pixels
    sel = _frame_mask(r)
    out = r.render(t)
    shift = np.linalg.norm(_dark_centroid(out, sel) - _dark_centroid(img, sel))
    assert shift < 1.0, shift
    # without the feature the rim rides up with the brows (the test sees the bend)
    bent = Renderer(img, portrait, RenderConfig(glasses=False)).render(t)
    assert np.linalg.norm(_dark_centroid(bent, sel) - _dark_centroid(img, sel)) > 2.0


def test_rim_follows_head_motion(grace_renderer, grace):
    img, portrait, rig = grace
    r = grace_renderer
    t = rig.forward({"tx": 0.05, "AU1": 1.0})[0]
    sel = _frame_mask(r)
    head = GL.frame_motion(np.asarray(portrait.landmarks), t)
    assert np.abs(head.t).max() > 3.0
    out = r.render(t)
    ys, xs = np.nonzero(sel)
    moved = np.zeros_like(sel)
    p = np.round(head.apply(np.stack([xs, ys], 1))).astype(int)
    ok = (p[:, 0] >= 0) & (p[:, 0] < r.W) & (p[:, 1] >= 0) & (p[:, 1] < r.H)
    moved[p[ok, 1], p[ok, 0]] = True
    expect = _dark_centroid(img, sel) @ (head.scale * head.R).T + head.t
    assert np.linalg.norm(_dark_centroid(out, moved) - expect) < 1.0


def test_identity_render_is_the_source_with_glasses(grace_renderer, grace):
    img, portrait, _ = grace
    assert grace_renderer.glasses is not None
    assert np.array_equal(grace_renderer.render(np.asarray(portrait.landmarks, dtype=np.float64)), img)


def test_torch_keeps_the_rim(grace, grace_renderer):
    pytest.importorskip("torch")
    from thinkdraw.render.torch_warp import TorchRenderer

    img, portrait, rig = grace
    r = grace_renderer
    seq = np.stack([np.asarray(portrait.landmarks, dtype=np.float64), rig.forward(BROWS_UP)[0]])
    b = TorchRenderer(r, "cpu").render_batch(seq)
    sel = _frame_mask(r)
    assert np.abs(b[0].astype(int) - img).max() <= 1
    assert np.linalg.norm(_dark_centroid(b[1], sel) - _dark_centroid(img, sel)) < 1.0


def _grain(img: np.ndarray) -> np.ndarray:
    """Fine detail (below ~2 px) of the grey image."""
    import cv2

    g = img.astype(np.float32).mean(2)
    return g - cv2.GaussianBlur(g, (0, 0), 2.0)


def test_skin_under_the_rim_has_grain_and_no_upside_down_brow(grace_renderer, grace):
    """The plate the face warps behind the rigid rim: where a rising brow uncovers it, the skin
    under the rim must carry skin grain (not a blur) and must not be the brow mirrored about the
    rim's edge (a second, upside-down brow that showed as a ghost of the frame above it)."""
    img = grace[0]
    r = grace_renderer
    core = _frame_mask(r)
    rows = np.arange(r.H)[:, None]
    has = core.any(0)
    top = np.where(has, core.argmax(0), 0)
    skin = has[None] & (rows < top[None] - 2) & (rows >= top[None] - int(0.25 * r.ipd))
    fill, src = _grain(r.plate), _grain(img)
    assert fill[core].std() > 0.35 * src[skin].std(), (fill[core].std(), src[skin].std())
    # the upper half of every column's run under the rim against the source mirrored about the
    # rim's top edge
    ys, xs = np.nonzero(core)
    depth = ys - top[xs]
    upper = depth < 0.5 * np.bincount(xs, minlength=r.W)[xs]
    my = 2 * top[xs] - 2 - ys
    ok = upper & (my >= 0)
    corr = np.corrcoef(fill[ys[ok], xs[ok]], src[my[ok], xs[ok]])[0, 1]
    assert corr < 0.3, corr


def _sunglasses(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The portrait with opaque dark-green lenses (ellipses over both eyes) and a bridge."""
    import cv2

    out, ipd = img.copy(), _ipd(lm)
    for eye in (468, 473):
        centre = tuple(int(v) for v in lm[eye, :2])
        cv2.ellipse(out, centre, (int(0.42 * ipd), int(0.3 * ipd)), 0, 0, 360, (18, 30, 24), -1, cv2.LINE_AA)
    ends = [tuple(int(v) for v in lm[i, :2]) for i in (468, 473)]
    cv2.line(out, ends[0], ends[1], (18, 30, 24), max(2, int(0.06 * ipd)), cv2.LINE_AA)
    return out


@pytest.fixture(scope="module")
def sunglasses(astronaut):
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig

    img = _sunglasses(astronaut[0], astronaut[1].landmarks)
    portrait = analyze_portrait(img)
    return img, portrait, Rig(portrait), Renderer(img, portrait)


def test_eyes_behind_dark_lenses_get_no_lids_irises_or_bending(sunglasses, renderer):
    """Behind sunglasses nothing of the eyes can be seen: a blink or a glance must leave the lens as
    it is (before: a skin-coloured lid was painted on the lens, and the warp bent its reflections)."""
    import cv2

    img, portrait, rig, r = sunglasses
    assert len(r.lids) == 0 and len(r.eyes) == 0 and len(r.pinned) > 20
    assert len(renderer.lids) == 2 and len(renderer.eyes) == 2 and len(renderer.pinned) == 0  # bare eyes
    lens = np.zeros(img.shape[:2], np.uint8)
    ipd = _ipd(portrait.landmarks)
    for eye in (468, 473):
        centre = tuple(int(v) for v in portrait.landmarks[eye, :2])
        cv2.ellipse(lens, centre, (int(0.3 * ipd), int(0.18 * ipd)), 0, 0, 360, 1, -1)
    rest = r.render(rig.forward({})[0])
    for params in ({"AU43": 1.0}, {"AU45L": 1.0, "AU45R": 1.0}, {"gaze_h": 1.0, "gaze_v": -1.0}):
        frame = r.render(rig.forward(params)[0])
        assert np.abs(frame.astype(int) - rest.astype(int))[lens > 0].max() <= 2, params


def test_a_dim_photo_is_not_sunglasses(astronaut):
    from thinkdraw.render import eyes as E

    img, portrait = astronaut
    dim = (img.astype(np.float32) * 0.3).astype(np.uint8)
    r = Renderer(dim, portrait)
    assert len(r.lids) == 2 and len(r.eyes) == 2
    lm = portrait.landmarks
    lid = E.build_lid(dim, lm, M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER, M.RIGHT_BROW_LOWER, _ipd(lm))
    assert not E.eye_hidden(dim, lm, lid, M.CHEEKS_BELOW_EYES[0], _ipd(lm))
