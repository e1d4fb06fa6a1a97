"""The eye layer: a redrawn iris keeps the photo's eye; the lid's shadow follows the lid."""

from __future__ import annotations

import cv2
import numpy as np

from thinkdraw.render import eyes as E
from thinkdraw.render.geometry import between_chains_alpha


def _identity_warp(plate: np.ndarray):
    def warp(win):
        x0, y0, x1, y1 = win
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        return cv2.remap(plate, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), gx, gy

    return warp


def _opening(eye: E.EyeModel, lm: np.ndarray, shape) -> np.ndarray:
    py, px = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    a, _, _, _ = between_chains_alpha(lm[list(eye.upper_ids), :2], lm[list(eye.lower_ids), :2], px, py)
    return a > 0.99


def test_an_iris_redrawn_in_place_keeps_the_photos_eye(renderer, astronaut):
    """Redrawing the iris where it already is (the warp carried it 1 px off) must give back the
    photo's eye: the photo already holds the lid's shadow, so none may be added on top (it was:
    up to 28 % darker under the lid whenever an expression moved the lids a little), and the
    limbal ring must come back whole (drawn to 1.0 iris radius it lost its outer half: 3 % brighter)."""
    img, lm = astronaut[0], np.asarray(astronaut[1].landmarks, np.float64)[:, :2]
    for eye in renderer.eyes:
        out = img.copy()
        drawn = E.composite_eye(out, _identity_warp(renderer.clean), eye, lm, eye.center + np.array([0.0, E.REDRAW_FULL]))
        assert drawn
        inside = _opening(eye, lm, img.shape)
        src, new = img[inside].astype(float), out[inside].astype(float)
        assert abs(new.mean() / src.mean() - 1.0) < 0.01, (new.mean(), src.mean())
        assert np.abs(new - src).mean() < 1.5


def test_a_still_eye_is_left_alone(renderer, astronaut):
    img, lm = astronaut[0], np.asarray(astronaut[1].landmarks, np.float64)[:, :2]
    out = img.copy()
    for eye in renderer.eyes:
        assert not E.composite_eye(out, _identity_warp(renderer.clean), eye, lm, eye.center)
    assert np.array_equal(out, img)


def test_a_lowered_lid_brings_its_shadow_down():
    """An upper lid lowered by 8 px over a flat grey eye whose warp squeezes the opening from 16 to
    8 px: right under the new margin the pixel gets the shade of its new depth over the shade of
    the depth it came from (E.lid_shade), darker; deeper down the light is the photo's."""
    xs = np.linspace(20.0, 60.0, 9)
    bulge = np.sin(np.linspace(0.0, np.pi, 9))
    up_src = np.stack([xs, 40.0 - 10.0 * bulge], 1)
    lo = np.stack([xs, 40.0 + 6.0 * bulge], 1)
    up_tgt = np.stack([xs, 40.0 - 2.0 * bulge], 1)  # the lid came 8 px down in the middle
    grey = np.full((80, 80, 3), 150, np.uint8)
    r = 5.0
    eye = E.EyeModel(tuple(range(9)), tuple(range(9, 18)), (18, 19, 20, 21, 22), np.array([40.0, 37.0]), r,
                     30, 27, np.full((21, 21, 3), 60.0, np.float32), up_src, lo, 0, np.array([1.0, 0.0, 0.0]))
    target = np.zeros((23, 2))
    target[:9], target[9:18] = up_tgt, lo
    target[18] = eye.center
    target[19:] = eye.center + r * np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])

    def squeeze(win):  # each column of the target opening maps linearly onto the source's
        x0, y0, x1, y1 = win
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        b = np.interp(gx, xs, bulge).astype(np.float32)
        top_t, top_s, bot = 40.0 - 2.0 * b, 40.0 - 10.0 * b, 40.0 + 6.0 * b
        f = (gy - top_t) / np.maximum(bot - top_t, 1e-3)
        gy = np.where((f > 0) & (f < 1), top_s + f * (bot - top_s), gy).astype(np.float32)
        return grey[: y1 - y0, : x1 - x0], gx, gy

    out = grey.copy()
    assert E.composite_eye(out, squeeze, eye, target, eye.center)  # the iris did not move: relight only
    # 1 px under the new margin (38) came from 2 px under the old one (30 -> 32)
    expect = 150.0 * float(E.lid_shade(np.float32(1.0), r) / E.lid_shade(np.float32(2.0), r))
    under = float(out[39, 40].mean())
    assert expect < 140 and abs(under - expect) <= 1.5, (under, expect)
    assert abs(float(out[44, 40].mean()) - 150) <= 1  # deeper down: the photo's light


def test_a_sub_pixel_iris_drift_keeps_the_warped_eye(renderer, astronaut):
    """Neutralising a smile lowers the lower lid ~0.35 px and drifts the warped iris as much. The
    warp's own eye must stay: redrawn in full, the iris texture (completed by mirroring where the
    source lid hid it) put dark iris pixels on lower-lid skin that MediaPipe's chain counts as open."""
    img, lm = astronaut[0], np.asarray(astronaut[1].landmarks, np.float64)[:, :2]
    for eye in renderer.eyes:
        target = lm.copy()
        target[list(eye.lower_ids[1:-1]), 1] += 0.35  # the corners (shared with the upper lid) stay
        out = img.copy()
        E.composite_eye(out, _identity_warp(img), eye, target, eye.center - np.array([0.0, 0.35]))
        y, x = eye.center.astype(int)[::-1]
        r = int(3 * eye.radius)
        diff = np.abs(out[y - r : y + r, x - r : x + r].astype(int) - img[y - r : y + r, x - r : x + r]).max()
        assert diff <= 3, diff


def test_a_wider_eye_keeps_the_lower_lid_in_front_of_the_iris(renderer, astronaut):
    """AU5 raises the upper lid; the warp stretches the iris, so it is redrawn round where it was.
    The lower lid's margin (MediaPipe's chain lies on its lash line, below the visible rim) must
    stay in front of it: the warped photo there, not iris texture (it drew a dark notch under the
    astronaut's irises, 23-25 levels off the lid's own pixels; now under 10)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut[0], astronaut[1]
    t = Rig(portrait).forward({"AU5": 1.0})[0][:, :2]
    with_eyes = renderer.render(t).astype(float)
    warp_only = Renderer(img, portrait, RenderConfig(eyes=False)).render(t).astype(float)
    py, px = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
    errs = []
    for eye in renderer.eyes:
        c = t[eye.iris_ids[0]]
        assert np.hypot(*(c - eye.bary @ renderer.target_vertices(t)[0][renderer.tris[eye.tri]])) > E.REDRAW_FROM
        a, _, above_lower, _ = between_chains_alpha(t[list(eye.upper_ids)], t[list(eye.lower_ids)], px, py)
        band = (a > 0.5) & (above_lower < E.LID_MARGIN * eye.radius) & (np.abs(px - c[0]) < eye.radius) & (py > c[1])
        assert band.sum() >= 3
        errs.append(np.abs(with_eyes - warp_only)[band].mean())
    assert np.mean(errs) < 10.0, errs


def _synthetic_eye(sclera_rgb=(215, 210, 205), ring_to: float = 1.3, center=(50.0, 29.0)):
    """A 60 x 100 eye: skin, an almond opening between two lid chains, sclera lit 10 % darker
    toward the corners, a dark iris (r = 8 px, centred at ``center``) whose blurred limbal ring
    reaches ``ring_to`` radii (past MediaPipe's circle, as on real photos)."""
    xs = np.linspace(20.0, 80.0, 9)
    bulge = np.sin(np.linspace(0.0, np.pi, 9))
    up = np.stack([xs, 30.0 - 12.0 * bulge], 1)
    lo = np.stack([xs, 30.0 + 9.0 * bulge], 1)
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    img = np.empty((60, 100, 3), np.float32)
    img[:] = (190, 140, 120)
    opening, _, _, _ = between_chains_alpha(up, lo, px, py)
    sclera = np.array(sclera_rgb, np.float32) * (1.0 - 0.1 * ((px - 50.0) / 30.0) ** 2)[..., None]
    img = img * (1 - opening[..., None]) + sclera * opening[..., None]
    c, r = np.array(center, np.float64), 8.0
    d = np.hypot(px - c[0], py - c[1])
    iris_a = (np.clip((ring_to * r - d) / ((ring_to - 1.0) * r), 0, 1) * opening)[..., None]
    img = img * (1 - iris_a) + np.array([70.0, 45.0, 30.0]) * iris_a
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), up, lo, c, r, opening, sclera


def test_painting_out_the_iris_leaves_bare_sclera():
    """The clean plate under a gazing iris is eyeball: no dark crescent of the old limbal ring (it
    reaches past MediaPipe's circle; inpainted to LIMBUS only, it stayed), the colour of the
    sclera beside it, and the photo's own sclera untouched."""
    img, up, lo, c, r, opening, sclera = _synthetic_eye()
    clean = img.copy()
    E.paint_out_iris(img, up, lo, c, r, clean)
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    _, below_up, above_lo, _ = between_chains_alpha(up, lo, px, py)
    d = np.hypot(px - c[0], py - c[1])
    ball = (opening > 0.99) & (below_up > 3) & (above_lo > 3)
    disk = ball & (d < 1.3 * r)
    err = np.abs(clean[disk].astype(float) - sclera[disk]).mean(1)
    assert disk.sum() > 100 and err.mean() < 8 and err.max() < 25, (err.mean(), err.max())
    far = ball & (d > E.LIMBUS_OUT * r + 1)
    assert np.array_equal(clean[far], img[far])
    # the photo's own pixels outside the opening are never touched
    assert np.array_equal(clean[opening < 0.05], img[opening < 0.05])


def test_a_tinted_sclera_falls_back_to_inpainting():
    """'Sclera' far more saturated than the skin below the eye is lid skin and red rims (a narrowed,
    shadowed eye: grace_hopper's): the iris is inpainted out (Telea), not filled with that colour."""
    from thinkdraw.render.raster import inpaint

    img, up, lo, c, r, opening, _ = _synthetic_eye(sclera_rgb=(150, 60, 40))
    clean = img.copy()
    E.paint_out_iris(img, up, lo, c, r, clean)
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    d = np.hypot(px - c[0], py - c[1])
    disk = (d < r * E.LIMBUS_OUT + 0.5) & (opening > 0.05)
    telea = inpaint(img, disk.astype(np.uint8) * 255, max(2.0, r * 0.5))
    assert np.abs(clean[disk].astype(int) - telea[disk]).mean() < 6
    # and it is not the row fill: that would carry the red 'sclera' straight across the disk
    row = (opening > 0.99) & (np.abs(py - c[1]) < 2) & (d < r)
    assert np.abs(clean[row].astype(int) - np.array([150, 60, 40])).mean() > 10


def test_lerp_across_rows_is_linear_between_kept_pixels():
    kept = np.zeros((3, 10), bool)
    kept[:, [1, 8]] = True
    kept[2] = False
    kept[2, 2] = True  # one-sided row
    values = np.zeros((3, 10, 1), np.float32)
    values[:, 1, 0], values[:, 8, 0] = 10.0, 80.0
    values[2, 2, 0] = 5.0
    out, conf = E._lerp_across(values, kept, axis=1, reach=2.0)
    assert np.allclose(out[0, 1:9, 0], np.linspace(10.0, 80.0, 8))
    assert np.allclose(conf[0, 1:9], 1.0)
    assert np.allclose(out[2, :, 0], 5.0)  # one kept pixel: its value, confidence falling with distance
    assert np.isclose(conf[2, 6], np.exp(-4.0 / 2.0)) and conf[2, 2] == 1.0
    empty, none = E._lerp_across(values, np.zeros((3, 10), bool), axis=1, reach=2.0)
    assert np.all(none == 0.0)


def test_an_iris_looking_up_leaves_no_arc_in_the_lower_lid_margin():
    """An iris resting on the lower lid shows inside the lid's margin band (which otherwise stays
    the warped photo, in front of the eyeball). Looking up, the iris moves away and that band must
    show eyeball, not the old iris's lower arc (it did: 0.23 of the band dark over 62 registry eye
    gazes, now 0.03; bench/faces.py --only eyes)."""
    # low in the opening: the iris's blurred edge reaches the lower chain
    img, up, lo, c, r, opening, sclera = _synthetic_eye(center=(50.0, 33.0))
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    _, _, above_lo, _ = between_chains_alpha(up, lo, px, py)
    d = np.hypot(px - c[0], py - c[1])
    lm = np.zeros((23, 3))
    lm[:9, :2], lm[9:18, :2], lm[18, :2] = up, lo, c
    lm[19:, :2] = c + r * np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])
    clean = img.copy()
    eye = E.build_eye(img, lm, tuple(range(9)), tuple(range(9, 18)), tuple(range(18, 23)), clean, 0, np.ones(3) / 3)
    target = lm[:, :2].copy()
    target[18:] -= [0.0, 0.8 * r]  # gaze up by 0.8 radii; the lids stay
    out = img.copy()
    assert E.composite_eye(out, _identity_warp(clean), eye, target, eye.center)
    band = (opening > 0.5) & (above_lo > 0.3) & (above_lo < E.LID_MARGIN * r) & (d < E.LIMBUS * r)
    band &= np.hypot(px - target[18, 0], py - target[18, 1]) > E.LIMBUS_OUT * r + 1
    assert band.sum() >= 3
    lum, ref = out[band].astype(float).mean(1), sclera[band].mean(1)
    assert np.all(lum > 0.7 * ref), (lum, ref)


def test_an_eye_with_too_little_sclera_takes_the_portraits_sclera_colour():
    """An iris that fills its opening (a small face: the astronaut's right eye shows 5 sclera
    pixels) leaves too little eyeball to interpolate from. With the portrait's sclera colour (the
    other eye's), the disk is that colour under the lid's shadow, so a gaze uncovers white of the
    eye; inpainted, it took the lashes', rims' and limbal ring's colours round the disk (a
    pink-brown ghost of the iris). Without a colour, or with an implausibly tinted one, it is
    still inpainted."""
    from thinkdraw.render.raster import inpaint

    # an iris (r = 16 px) filling the 60 x 21 px opening but for its thin corners
    img, up, lo, c, _, opening, _ = _synthetic_eye(ring_to=2.6)
    r = 16.0
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    d = np.hypot(px - c[0], py - c[1])
    _, below_up, above_lo, _ = between_chains_alpha(up, lo, px, py)
    disk = (d < r * E.LIMBUS_OUT + 0.5) & (opening > 0.05)
    ref = np.array([214.0, 206.0, 200.0], np.float32)
    clean = img.copy()
    E.paint_out_iris(img, up, lo, c, r, clean, sclera_ref=ref)
    deep = disk & (below_up > 8) & (above_lo > 2)
    assert deep.sum() > 50
    assert np.abs(clean[deep].astype(float) - ref).mean() < 20, clean[deep].mean(0)
    # right under the upper lid's margin the eyeball is in the lid's shadow (darker than deeper down)
    top = disk & (below_up > 0.5) & (below_up < 2.0) & (np.abs(px - c[0]) < 3)
    assert clean[top].mean() < clean[deep].mean() - 20
    telea = inpaint(img, disk.astype(np.uint8) * 255, max(2.0, r * 0.5))
    for bad in (None, np.array([200.0, 60.0, 40.0], np.float32)):  # no colour / far more tinted than the skin
        clean = img.copy()
        E.paint_out_iris(img, up, lo, c, r, clean, sclera_ref=bad)
        assert np.abs(clean[disk].astype(int) - telea[disk]).mean() < 6


def test_the_astronauts_right_eye_uncovers_white_when_she_looks_aside(renderer, astronaut):
    """Bundled portrait: her right eye (image right) shows too little sclera to paint the iris out
    from its own; looking aside must uncover eyeball as light as her other eye's, not a ghost."""
    eye = max(renderer.eyes, key=lambda e: e.center[0])
    c, r = eye.center, eye.radius
    patch = renderer.clean[int(c[1] - r * 0.5): int(c[1] + r * 0.5) + 1, int(c[0] - r * 0.5): int(c[0] + r * 0.5) + 1]
    assert renderer.sclera is not None
    assert patch.reshape(-1, 3).astype(float).mean(0).min() > 0.8 * renderer.sclera.min(), patch.reshape(-1, 3).mean(0)


def test_a_redrawn_iris_does_not_carry_the_skin_its_lids_hid():
    """A narrow eye hides the top and bottom of its iris under the lids. Past the limbus, what the
    lids hid is eyeball the photo never showed: the iris texture leaves it uncovered (coverage 0)
    so the target's own eyeball shows there. (Carried along, an iris looking up brought the lower
    lid's skin from under its old place as a pink rim round its lower edge.)"""
    from thinkdraw.face import mesh as M

    img = np.full((60, 100, 3), (190, 140, 120), np.uint8)
    xs = np.linspace(20.0, 80.0, 9)
    bulge = np.sin(np.linspace(0.0, np.pi, 9))
    up, lo = np.stack([xs, 30.0 - 5.0 * bulge], 1), np.stack([xs, 30.0 + 4.0 * bulge], 1)
    py, px = np.mgrid[0:60, 0:100].astype(np.float32)
    opening, _, _, _ = between_chains_alpha(up, lo, px, py)
    c, r = np.array([50.0, 30.0]), 8.0
    eyeball = np.where((np.hypot(px - c[0], py - c[1]) < r)[..., None], (70, 45, 30), (215, 210, 205))
    img = np.clip(img * (1 - opening[..., None]) + eyeball * opening[..., None] + 0.5, 0, 255).astype(np.uint8)
    lm = np.zeros((M.N_LANDMARKS, 3))
    lm[list(M.RIGHT_EYE_UPPER), :2], lm[list(M.RIGHT_EYE_LOWER), :2] = up, lo
    lm[list(M.RIGHT_IRIS), :2] = [c, c + (r, 0), c + (0, -r), c - (r, 0), c + (0, r)]
    eye = E.build_eye(img, lm, M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER, M.RIGHT_IRIS, img.copy(), -1, np.zeros(3))
    assert eye.texture.shape[2] == 4

    def cover(x: float, y: float) -> float:
        return float(eye.texture[int(round(y)) - eye.y0, int(round(x)) - eye.x0, 3])

    assert cover(*c) > 0.99  # the iris the photo shows
    assert cover(c[0], c[1] + 0.8 * r) > 0.99  # iris under the lid: completed (its mean), drawn
    assert cover(c[0], c[1] + 1.35 * r) < 0.05  # lid skin past the limbus, above and below: not drawn
    assert cover(c[0], c[1] - 1.35 * r) < 0.05
    assert cover(c[0] + 1.35 * r, c[1]) > 0.99  # the photo's sclera beside the iris: its soft edge, drawn
