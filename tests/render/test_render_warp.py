"""Mesh-warp renderer behaviour: identity, still background, mouth interior, lids, gaze, torch."""

from __future__ import annotations

import numpy as np
import pytest
from render_edits import close_eyes, gaze, jaw_drop, smile

from thinkdraw.errors import InputError
from thinkdraw.face import mesh as M
from thinkdraw.render.geometry import between_chains_alpha
from thinkdraw.render.raster import signed_area


def _lm(astronaut) -> np.ndarray:
    return np.asarray(astronaut[1].landmarks, dtype=np.float64)


def test_shapes_and_dtype(renderer, astronaut):
    lm = _lm(astronaut)
    out = renderer.render(smile(lm))
    assert out.shape == (512, 512, 3) and out.dtype == np.uint8
    batch = renderer.render_batch(np.stack([lm[:, :2], smile(lm)[:, :2]]))
    assert batch.shape == (2, 512, 512, 3) and batch.dtype == np.uint8


def test_identity_render_is_the_source(renderer, astronaut):
    img = astronaut[0]
    out = renderer.render(_lm(astronaut))
    assert np.array_equal(out, img)


def _changed(out: np.ndarray, img: np.ndarray) -> np.ndarray:
    return np.any(out != img, axis=2)


def test_background_still_under_expression(renderer, astronaut):
    """Expressions never move the background; a jaw drop moves only the neck straight below the
    chin, and not past the outer support ring (the torso)."""
    img, lm = astronaut[0], _lm(astronaut)
    x0, y0, x1, y1 = astronaut[1].box
    pad = 0.4 * (x1 - x0)
    far = np.ones(img.shape[:2], bool)
    far[int(max(y0 - pad, 0)) : int(y1 + pad), int(max(x0 - pad, 0)) : int(x1 + pad)] = False
    assert far.sum() > 50_000
    out = renderer.render(close_eyes(smile(lm)))
    assert not _changed(out, img)[far].any()
    assert _changed(out, img).any()  # the face did change

    out = renderer.render(close_eyes(jaw_drop(smile(lm))))
    Y, X = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    neck = (Y > y1) & (X > x0) & (X < x1)
    assert not _changed(out, img)[far & ~neck].any()
    ring = renderer.src[renderer.sup0 :][renderer.on_ring]  # rest positions of the support rings
    below_chin = ring[np.abs(ring[:, 0] - lm[M.CHIN, 0]) < 0.25 * (x1 - x0)]
    torso = Y > below_chin[:, 1].max() + 1.0
    assert torso.sum() > 10_000 and not _changed(out, img)[torso].any()
    assert _changed(out, img)[neck & far].any()  # the neck band did take up the jaw's motion


def test_a_dropping_chin_compresses_the_neck_never_folds_it(grace):
    """grace's chin drops 35-55 px at full AU27, past the first support ring when that ring stays:
    the neck band must compress, not turn inside out (a folded band leaves unmapped pixels: a
    stepped dark seam). With the chin carry the ring moves down too and the band never folds."""
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait, rig = grace
    t = rig.forward({"AU27": 1.0})[0]
    still = (0.0, 0.0)
    for cfg, folds in ((RenderConfig(support_min_gap=0.0, chin_carry=still, glasses=False), True),
                       (RenderConfig(chin_carry=still, glasses=False), False),
                       (RenderConfig(support_min_gap=0.0, glasses=False), False),
                       (RenderConfig(glasses=False), False)):
        r = Renderer(img, portrait, cfg)
        outer = r.tris[r.n_inner_tris :]
        dst, _ = r.target_vertices(t)
        flipped = np.sign(signed_area(dst, outer)) != np.sign(signed_area(r.src, outer))
        assert flipped.any() == folds, cfg


@pytest.mark.parametrize("au", ["AU26", "AU27"])
def test_a_jaw_drop_carries_the_skin_under_the_chin(grace, astronaut, au):
    """The mesh's chin point sits above the chin's edge: the skin just under it must move down with
    it (the chin keeps its shape and its edge moves), not be squeezed against a still neck band
    (which left the edge where it was and the chin's underside a thin dark line)."""
    from thinkdraw.eval.head_motion import under_chin_follow
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    for img, portrait in ((grace[0], grace[1]), astronaut):
        t = Rig(portrait).forward({au: 1.0})[0]
        carried = under_chin_follow(Renderer(img, portrait, RenderConfig(glasses=False)), t)
        squeezed = under_chin_follow(Renderer(img, portrait, RenderConfig(glasses=False, chin_carry=(0.0, 0.0))), t)
        assert carried > 0.7 and squeezed < 0.45, (carried, squeezed)


def _inner_lip_mask(lm: np.ndarray, shape) -> np.ndarray:
    py, px = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    a, _, _, _ = between_chains_alpha(lm[list(M.LIPS_INNER_UPPER), :2], lm[list(M.LIPS_INNER_LOWER), :2], px, py)
    return a > 0.99


def test_mouth_interior_when_lips_part(renderer, astronaut):
    lm = _lm(astronaut)
    target = jaw_drop(lm)
    out = renderer.render(target)
    inside = out[_inner_lip_mask(target, out.shape)].astype(float)
    assert len(inside) > 200
    lum = inside.mean(1)
    sat = inside.max(1) - inside.min(1)
    assert (lum < 70).mean() > 0.2  # dark cavity
    assert ((lum > 150) & (sat < 60)).mean() > 0.05  # off-white teeth
    # deterministic: the same landmarks give the same pixels
    assert np.array_equal(out, renderer.render(target))


def test_upper_teeth_hang_from_the_resting_contact_line_of_an_open_mouthed_photo(astronaut):
    """A photo that laughs (here the astronaut's landmarks with a rig-made laugh) has its upper lip
    raised and its jaw dropped: the middle of its opening lies far below where the lips meet at
    rest. The synthetic upper teeth hang from the neutralised face's contact line (on obama2_0 the
    opening's middle put the teeth 0.14 IPD low, under a tall band of gum)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    laughing = Rig(portrait).forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0, "AU26": 0.7})[0]
    r = Renderer(img, laughing)
    rest = Rig(landmarks=laughing).neutral_landmarks
    contact = (rest[13, :2] + rest[14, :2]) / 2
    opening_middle = (laughing[13, :2] + laughing[14, :2]) / 2
    assert np.linalg.norm(r.upper_anchor - contact) < 0.01 * r.ipd
    assert opening_middle[1] - r.upper_anchor[1] > 0.08 * r.ipd  # image y down: the anchor is above (0.099 IPD)
    # 2D landmarks cannot be neutralised: the photo's own contact line, as before
    flat = Renderer(img, np.asarray(portrait.landmarks)[:, :2])
    np.testing.assert_allclose(flat.upper_anchor, (portrait.landmarks[13, :2] + portrait.landmarks[14, :2]) / 2)


def test_lips_parted_less_than_an_open_mouthed_photo_show_teeth(astronaut):
    """A photo that laughs, a target whose lips part only a little (AU25 0.6 on the neutralised
    face): the lips-only plate covers the photo's own interior, and the target's small parting
    shows the synthetic teeth, not the plate's lip colour (obama2_0's AU25 0.4 rendered shut)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    laughing = Rig(portrait).forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0, "AU26": 0.7})[0]
    photo = img.copy()  # the laughing photo: red lips around a dark mouth with no teeth of its own
    py, px = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
    lips, _, _, _ = between_chains_alpha(laughing[list(M.LIPS_OUTER_UPPER), :2], laughing[list(M.LIPS_OUTER_LOWER), :2], px, py)
    photo[lips > 0.5] = (180, 60, 70)
    photo[_inner_lip_mask(laughing, img.shape)] = (60, 20, 25)
    r = Renderer(photo, laughing)
    target = Rig(landmarks=laughing).forward({"AU25": 0.6})[0]
    assert r._opening(target) < 0.25 * r.src_open  # the plate takes over (closing > 0.5)
    out = r.render(target)
    inside = out[_inner_lip_mask(target, out.shape)].astype(float)
    assert len(inside) > 30
    lum, sat = inside.mean(1), inside.max(1) - inside.min(1)
    assert ((lum > 140) & (sat < 70)).mean() > 0.3  # off-white teeth between the lips


def test_closed_eyes_show_no_iris(renderer, astronaut):
    img, lm = astronaut[0], _lm(astronaut)
    out = renderer.render(close_eyes(lm))
    for up, lo, iris in M.EYES:
        c = lm[iris[0], :2]
        r = np.linalg.norm(lm[list(iris[1:]), :2] - c, axis=1).mean()
        y, x = np.mgrid[0:512, 0:512]
        disk = np.hypot(x - c[0], y - c[1]) < 0.8 * r
        src_lum = img[disk].astype(float).mean(1)
        out_lum = out[disk].astype(float).mean(1)
        dark = np.percentile(src_lum, 30)
        assert (src_lum < dark + 1).mean() > 0.25  # the open eye has a dark iris here
        assert (out_lum < dark + 5).mean() < 0.05  # the closed lid covers it


def test_gaze_moves_the_iris(renderer, astronaut):
    lm = _lm(astronaut)
    out_r = renderer.render(gaze(lm, 1.0)).astype(float)
    out_l = renderer.render(gaze(lm, -1.0)).astype(float)
    c = lm[468, :2]
    r = np.linalg.norm(lm[469, :2] - c)
    y0, y1 = int(c[1] - r), int(c[1] + r)
    xs = np.arange(int(c[0] - 3 * r), int(c[0] + 3 * r))

    def dark_centre(im):
        lum = im[y0:y1, xs].mean(axis=(0, 2))
        w = np.clip(lum.max() - lum, 0, None) ** 2
        return (w * xs).sum() / w.sum()

    assert dark_centre(out_r) - dark_centre(out_l) > 0.5 * r


def test_bad_landmarks(renderer):
    with pytest.raises(InputError):
        renderer.render(np.zeros((10, 2)))
    with pytest.raises(InputError):
        renderer.render(np.full((478, 2), np.nan))


def test_a_renderer_given_the_callers_rig_renders_as_one_that_builds_its_own(grace):
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    img, portrait, rig = grace
    own, given = Renderer(img, portrait), Renderer(img, portrait, rig=rig)
    target = rig.forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 0.6})[0]
    np.testing.assert_array_equal(given.src, own.src)
    np.testing.assert_array_equal(given.render(target), own.render(target))
    other = Rig(landmarks=portrait.landmarks * np.array([1.1, 1.1, 1.0]))
    with pytest.raises(InputError, match="other landmarks"):
        Renderer(img, portrait, rig=other)


def test_torch_matches_numpy(astronaut):
    pytest.importorskip("torch")
    from thinkdraw.render.torch_warp import TorchRenderer
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    lm = _lm(astronaut)
    r = Renderer(img, portrait, RenderConfig(map_step=1))
    seq = np.stack([lm, jaw_drop(smile(lm)), close_eyes(lm), gaze(lm, 1.0)])
    a = r.render_batch(seq)
    b = TorchRenderer(r, "cpu").render_batch(seq)
    assert b.shape == a.shape and b.dtype == np.uint8
    d = np.abs(a.astype(int) - b.astype(int))
    assert d.mean() < 0.2 and (d > 3).mean() < 1e-3
    assert np.abs(b[0].astype(int) - img).max() <= 1


@pytest.mark.parametrize("yaw", [15.0, -15.0])
def test_turned_head_has_no_seam_at_the_face_outline(renderer, astronaut, yaw):
    """At a head turn the cheek on the far side becomes the silhouette; the outline is moved out to
    it, so the background band is not squeezed into a hard line across the cheek. Measured as the
    largest jump of the backward map between neighbouring pixels across the face rows (it was
    6 px per pixel before)."""
    from thinkdraw.face.rig import Rig

    lm = _lm(astronaut)
    t = Rig(astronaut[1]).forward({"yaw": yaw})[0][:, :2]
    region, mx, _, _, _ = renderer.maps(t)
    y0, y1 = int(lm[10, 1]) - region.y0, int(lm[152, 1]) - region.y0
    assert np.abs(np.diff(mx[y0:y1], axis=1)).max() < 4.5


@pytest.mark.parametrize("motion", [{"pitch": 20.0}, {"yaw": -20.0}, {"roll": 10.0}])
def test_head_motion_moves_the_hair_and_leaves_the_torso(renderer, astronaut, motion):
    """Support points below the face (neck, collar, shoulders) follow the head's motion far less
    than those beside and above it: the hair moves with the head, the suit's collar ring stays (it
    was dragged 3-4 px on average, up to 9, before)."""
    from thinkdraw.face.rig import Rig

    from thinkdraw.eval.head_motion import torso_and_hair_motion

    torso, hair = torso_and_hair_motion(renderer, _lm(astronaut), Rig(astronaut[1]).forward(motion)[0][:, :2])
    assert torso.size > 10_000 and hair.size > 500
    assert hair.mean() > 10.0
    assert torso.mean() < 0.5 and np.percentile(torso, 99) < 2.0


@pytest.mark.parametrize("turn", [5.0, -5.0])
def test_a_face_turned_in_its_photo_keeps_its_outline_on_a_small_turn(astronaut, turn):
    """In a face turned 35 degrees in its photo the nose already stands past the far outline. The
    outline is moved out only by the silhouette's reach beyond the photo's own: moved out to the
    nose (12-17 px before), it dragged the band beside the face, which holds the nose, into a
    ghost nose at any head motion."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut[0], astronaut[1]
    turned = Rig(portrait).forward({"yaw": 35.0})[0]
    r = Renderer(img, turned)
    t = Rig(landmarks=turned, neutralise=False).forward({"yaw": turn})[0]
    dst, _ = r.target_vertices(t[:, :2])
    oval = list(M.FACE_OVAL)
    assert np.abs(dst[oval] - t[oval, :2]).max() < 6.0


def test_overlapping_face_triangles_are_painted_far_to_near(renderer, astronaut):
    """Rasterised later wins: the support mesh comes first (behind the face), then the face's
    triangles by depth, farthest first, from the target's own z when it has one."""
    from thinkdraw.face.rig import Rig

    t = Rig(astronaut[1]).forward({"yaw": 20.0})[0]
    for depth in (None, t[:, 2]):
        order = renderer.paint_order(depth)
        assert sorted(order.tolist()) == list(range(len(renderer.tris)))
        n_outer = len(renderer.tris) - renderer.n_inner_tris
        assert (order[:n_outer] >= renderer.n_inner_tris).all()
        z = renderer.mesh_depth(renderer.depth if depth is None else depth)[renderer.tris[order[n_outer:]]].mean(1)
        assert np.all(np.diff(z) <= 1e-9)


def test_expressions_never_move_the_outline(renderer, astronaut):
    """The silhouette rule only acts while the head turns: an expression leaves the outline where
    the rig puts it."""
    from thinkdraw.face.rig import Rig

    t = Rig(astronaut[1]).forward({"AU27": 1.0, "AU12L": 1.0, "AU12R": 1.0})[0][:, :2]
    dst, _ = renderer.target_vertices(t)
    assert np.allclose(dst[list(M.FACE_OVAL)], t[list(M.FACE_OVAL)])


def test_squeezed_skin_is_prefiltered_not_aliased():
    """remap_filtered: the plain bilinear sample where the map does not minify (bit for bit), a
    smooth average where it squeezes a stripe pattern 3.7:1 (the plain sample aliases it into a
    moire of false bands)."""
    import cv2

    from thinkdraw.render.raster import MipLevels, minification, remap_filtered

    plate = np.zeros((64, 256, 3), np.uint8)
    plate[:, ::2] = 255  # 1-px stripes
    gy, gx = np.mgrid[0:32, 0:64].astype(np.float32)
    plain_x, plain_y = gx + 10.0, gy + 5.0  # a shift: no minification
    assert np.allclose(minification(plain_x, plain_y), 1.0)
    levels = MipLevels(plate)
    assert np.array_equal(remap_filtered(plate, plain_x, plain_y, levels),
                          cv2.remap(plate, plain_x, plain_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    sq_x = gx * 3.7 + 0.3  # 3.7 source columns per target pixel
    alias = cv2.remap(plate, sq_x, gy, cv2.INTER_LINEAR)
    out = remap_filtered(plate, sq_x, gy, levels)
    assert np.ptp(alias[4:-4, 4:-4]) > 150  # the plain sample picks stripes: high contrast
    assert np.ptp(out[4:-4, 4:-4]) < 40 and abs(float(out[4:-4, 4:-4].mean()) - 127.5) < 15  # the average grey



def test_a_sliver_squeezed_under_a_pixel_is_integrated_not_broken_into_steps():
    """resample_squeezed: a slanted band of source rows holding a dark 2-px line (a lid margin with
    its lashes) squeezed into 0.6 px. One sample per pixel catches the line in some columns and
    misses it in others (a dashed line in stair steps); integrated over each pixel's area, every
    column holds the same amount of line. Pixels that are not squeezed keep their sample bit for bit."""
    import cv2

    from thinkdraw.render.raster import MipLevels, Region, backward_map, resample_squeezed

    W, H = 48, 24
    plate = np.full((40, W, 3), 200, np.uint8)
    plate[19:21] = 40  # the dark line, rows 19-20 of the source band 17-23
    # three bands over the full width: skin above, the sliver, skin below; the sliver slants 1.5 px
    # across the window so that it passes pixel centres in some columns only
    # (the mesh reaches past the window, as the renderer's does past an eye's box)
    dst = np.array([[-4, -4], [W + 4, -4], [-4, 9.875], [W + 4, 11.625], [-4, 10.475], [W + 4, 12.225],
                    [-4, H + 4], [W + 4, H + 4]], np.float64)
    src = np.array([[-4, 3], [W + 4, 3], [-4, 17], [W + 4, 17], [-4, 23], [W + 4, 23], [-4, 39], [W + 4, 39]], np.float64)
    tris = np.array([[0, 1, 3], [0, 3, 2], [2, 3, 5], [2, 5, 4], [4, 5, 7], [4, 7, 6]])
    win = Region(0, 0, W, H)
    mx, my = backward_map(dst, src, tris, win, 1)
    point = cv2.remap(plate, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = point.copy()
    resample_squeezed(out, plate, MipLevels(plate), dst, src, tris, win, 3)

    def line(img):  # darkness each column holds, in pixels of full line
        return ((200.0 - img[..., 0].astype(np.float64)) / 160.0)[:, 4:-4].sum(0)

    assert np.ptp(line(point)) > 0.6, line(point)  # dashed: whole columns miss the line
    assert np.ptp(line(out)) < 0.25 and 0.15 < line(out).mean() < 0.5, line(out)  # the 2/6 of 0.6 px everywhere
    changed = np.nonzero((out != point).any((1, 2)))[0]
    assert changed.min() >= 8 and changed.max() <= 14  # only the rows round the sliver
    assert np.array_equal(out[:8], point[:8]) and np.array_equal(out[15:], point[15:])


def test_narrowed_eyes_are_mapped_exactly_and_integrated_where_squeezed(astronaut):
    """AU4 + AU7 squeeze the lid margins: the eyes' boxes take the exact per-pixel map (the lattice
    drew the margins in 2-px stair steps) and their squeezed pixels are supersampled; an expression
    that leaves the eyes still renders exactly as without supersampling."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    t = rig.forward({"AU4": 1.0, "AU7": 1.0})[0]
    coarse, exact = Renderer(img, portrait), Renderer(img, portrait, RenderConfig(map_step=1))
    region, mx, my, dst, _ = coarse.maps(t)
    _, ex, ey, _, _ = exact.maps(t)
    wins = [w for w, _ in coarse.eye_windows(dst)]
    assert len(wins) == 2 and coarse.eye_windows(coarse.src) == []
    assert coarse.eye_windows(coarse.target_vertices(rig.forward({"yaw": 10.0})[0][:, :2])[0]) == []  # moved, not squeezed
    for w in wins:
        sl = (slice(w.y0 - region.y0, w.y1 - region.y0), slice(w.x0 - region.x0, w.x1 - region.x0))
        assert np.allclose(mx[sl], ex[sl], atol=1e-3) and np.allclose(my[sl], ey[sl], atol=1e-3)
    single = Renderer(img, portrait, RenderConfig(eye_supersample=1))
    a, b = coarse.render(t), single.render(t)
    diff = np.nonzero((a != b).any(2))
    assert len(diff[0]) > 20  # the squeezed margins changed ...
    assert all(any(w.y0 <= y < w.y1 and w.x0 <= x < w.x1 for w in wins) for y, x in zip(*diff))  # ... inside the eyes' boxes only
    smile = rig.forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 0.5})[0]
    assert np.array_equal(coarse.render(smile), single.render(smile))
    for k in (0, 2):  # refused when the renderer is made, not on the first squeezed frame
        with pytest.raises(InputError, match="eye_supersample"):
            Renderer(img, portrait, RenderConfig(eye_supersample=k), rig=rig)


def test_mip_levels_blur_only_the_sampled_box_yet_match_the_whole_blur():
    """MipLevels blurs only the box frames sample (a squeezed chin is a small part of a phone
    photo), growing it when a later frame reaches further; every sample equals cv2.remap of the
    whole plate's blur bit for bit, inside the plate, across its edges and past them."""
    import cv2

    from thinkdraw.render.raster import MIP_SIGMAS, MipLevels

    rng = np.random.default_rng(3)
    plate = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    levels = MipLevels(plate)
    gy, gx = np.mgrid[0:40, 0:50].astype(np.float32)
    wobble = rng.random((2, 40, 50)).astype(np.float32)
    probes = [(gx * 1.3 + 180.25, gy * 0.9 + 120.5),  # inside
              (gx * 1.3 + 200.7, gy * 0.9 + 150.1),  # overlapping the first box: reused or grown
              (gx * 2.0 - 20.0, gy * 2.0 + 250.0),  # past the left and bottom edges: clamped
              (gx * 0.5 + 375.0 + wobble[0], gy * 0.5 + wobble[1])]  # top right corner
    for k, sigma in enumerate(MIP_SIGMAS, start=1):
        whole = cv2.GaussianBlur(plate, (0, 0), sigma)
        for mx, my in probes:
            want = cv2.remap(whole, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            assert np.array_equal(levels.remap(k, mx, my), want)
        box, level = levels._levels[k]
        assert level.shape[:2] == (box[3] - box[1], box[2] - box[0])
    small = MipLevels(plate)
    small.remap(2, *probes[0])
    (x0, y0, x1, y1), _ = small._levels[2]
    assert (x1 - x0) * (y1 - y0) < plate.shape[0] * plate.shape[1] / 3  # a box, not the whole plate

def test_culling_a_window_keeps_its_map(renderer, astronaut):
    """A lattice map looks up to one step past its window: culling the mesh for a small window must
    keep every triangle that lattice touches (the map is the same as with the whole mesh)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.raster import Region, backward_map, cull

    t = Rig(astronaut[1]).forward({"yaw": 20.0, "AU27": 1.0})[0]
    dst, _ = renderer.target_vertices(t[:, :2])
    lips = renderer.lips_window(dst)
    for step in (1, 2, 4):
        win = Region(lips.x0 + 1, lips.y0 + 1, lips.x1 - 3, lips.y1 - 2)  # not on the lattice of the image
        kept = cull(dst, renderer.tris, win, pad=step + 1)
        assert len(kept) < len(renderer.tris) // 2
        a = backward_map(dst, renderer.src, kept, win, step)
        b = backward_map(dst, renderer.src, renderer.tris, win, step)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_sin_yaw_reads_the_head_turn_from_3d_landmarks():
    """The mouth interior's arch turns with the head: the yaw read from the landmarks' depth is the
    rig's (yaw > 0 turns to the person's right, so the image-left half turns away: negative)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import sin_yaw

    rig = Rig.canonical()
    assert sin_yaw(rig.forward({})[0]) == pytest.approx(0.0, abs=1e-6)
    assert sin_yaw(rig.forward({"yaw": 20.0})[0]) == pytest.approx(-np.sin(np.radians(20.0)), abs=0.005)
    assert sin_yaw(rig.forward({"yaw": -15.0, "roll": 10.0})[0]) == pytest.approx(np.sin(np.radians(15.0)), abs=0.01)
    assert sin_yaw(rig.forward({"yaw": -15.0, "AU12L": 1.0, "AU26": 1.0})[0]) == pytest.approx(np.sin(np.radians(15.0)), abs=0.01)


def test_foldover_measure_sees_a_lip_pushed_over_the_skin(astronaut):
    from thinkdraw.eval.foldover import foldover

    _, portrait = astronaut
    src = portrait.landmarks
    assert foldover(src, src).area == 0.0 and foldover(src, src).triangles == ()
    moved = src.copy()
    moved[0, 1] = src[164, 1] - 0.5 * (src[0, 1] - src[164, 1])  # the upper lip's middle lifted past the skin below the nose
    fo = foldover(src, moved)
    assert fo.area > 10.0 and any(0 in tri and 164 in tri for tri in fo.triangles)


@pytest.mark.parametrize("params, limit", [
    ("extremely happy, laughing", 100.0),  # 202 px^2 before the skin beside the lip rose with it
    ({"AU10": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0}, 300.0),  # 599 before the nose held the lip
])
def test_open_smiles_do_not_fold_the_skin_around_the_lips(grace, params, limit):
    """eval.foldover: the frame area of flipped face-mesh triangles. On grace_hopper (thin upper
    lip, IPD 84 px) a laugh's upper lip rose over the skin above it (lip red smeared there) and a
    snarl's into the nose."""
    from thinkdraw.eval.foldover import foldover
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer

    img, portrait, rig = grace
    lm = rig.forward(emotion_params(params) if isinstance(params, str) else params)[0]
    r = Renderer(img, portrait)
    fo = foldover(r.src, r.target_vertices(lm)[0])
    assert fo.area < limit, (fo.area, fo.triangles)
    assert not any({0, 164} <= set(tri) or {39, 92} <= set(tri) or {40, 92} <= set(tri) for tri in fo.triangles)


def test_lip_fringe_rows_cut_the_mesh_without_gaps_or_flips(renderer, astronaut):
    """lip_fringe_split: the rows outside the lips add one vertex per lip-to-skin edge; on the
    photo's own landmarks the cut triangles tile exactly what the face mesh did, none flipped, and no
    edge is shared by more than two triangles (a vertex on one side of an edge only would crack it)."""
    from thinkdraw.render.warp import LIP_FRINGE_KEEP, SUBLABIAL_ROW, SUPRALABIAL_ROW, lip_fringe_split

    tris, rungs = lip_fringe_split()
    k = len(rungs)
    assert k >= len(SUBLABIAL_ROW) + len(SUPRALABIAL_ROW)
    assert set(np.unique(tris[tris >= M.N_MESH]).tolist()) == set(range(M.N_MESH, M.N_MESH + k))
    assert len(tris) == len(M.triangles()) + 2 * k  # each new vertex splits two triangles in two
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    assert np.unique(edges, axis=0, return_counts=True)[1].max() == 2
    lm = _lm(astronaut)[: M.N_MESH, :2]
    verts = np.concatenate([lm, lm[rungs[:, 0]] + LIP_FRINGE_KEEP * (lm[rungs[:, 1]] - lm[rungs[:, 0]])])
    assert np.allclose(verts, renderer.src[: renderer.hole0])
    assert np.array_equal(renderer.src[renderer.hole0 : renderer.sup0], lm[renderer.hole_of])  # the mouth hole's ring, at rest
    old, new = signed_area(lm, M.triangles().astype(np.int64)), signed_area(verts, tris)
    assert np.isclose(new.sum(), old.sum()) and np.isclose(np.abs(new).sum(), np.abs(old).sum())


def test_the_fringe_under_a_raised_lower_lip_keeps_its_height(astronaut):
    """A lower lip raised off the skin row under it (a toothy smile closed: the lip rises ~0.05 IOD,
    vertex 18 stays) stretches the triangle row between them. The photo's dark fringe under the lip
    keeps its height in pixels and the skin below takes the stretch; it stretched with the row
    before, and read as a lower lip twice its height (single_face_0, multi_face_3 made sad)."""
    import cv2
    from matplotlib.path import Path

    from thinkdraw.render.warp import SUBLABIAL_ROW, RenderConfig, Renderer

    s = 3.0  # the astronaut's lip-to-groove edge is ~4 px: enlarged so a pixel count can tell
    img = cv2.resize(astronaut[0], None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
    lm = _lm(astronaut) * s
    lip, row = list(M.LIPS_OUTER_LOWER[1:-1]), list(SUBLABIAL_ROW)
    fringe = lm[lip, :2] + 0.3 * (lm[row, :2] - lm[lip, :2])
    py, px = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
    band, _, _, _ = between_chains_alpha(lm[lip, :2], fringe, px, py)
    photo = img.copy()
    photo[band > 0.5] = (40, 20, 20)
    r = Renderer(photo, lm, RenderConfig(mouth=False, wrinkles=False, cheek_max=0.0))
    target = lm.copy()
    lower = Path(np.concatenate([lm[list(M.LIPS_OUTER_LOWER), :2], lm[list(M.LIPS_INNER_LOWER[::-1]), :2]]))
    ids = np.flatnonzero(lower.contains_points(lm[: M.N_MESH, :2]))
    ids = np.union1d(ids, lip + list(M.LIPS_INNER_LOWER[1:-1]))
    rise = 0.8 * np.linalg.norm(lm[18, :2] - lm[17, :2])
    target[ids, 1] -= rise

    def height(im: np.ndarray, l: np.ndarray) -> float:
        """Mean count of dark pixels per column over the lip's middle, from the lip down to 18."""
        x0 = int(l[84, 0]) + 1
        cols = im[int(l[17, 1]) - 2 : int(l[18, 1]) + 2, x0 : int(l[314, 0])].astype(float)
        return float((cols.mean(2) < 60).sum(0).mean())

    before, after = height(photo, lm), height(r.render(target), target)
    assert before > 3.0
    assert 0.75 * before < after < 1.25 * before, (before, after)  # 3.7 px: 3.8 now, 5.6 stretched with the row


def test_skin_hidden_under_the_lower_lip_is_sampled_below_it(astronaut):
    """An everted lower lip hides the skin under it; MediaPipe then puts that skin row (18, 83, 313)
    above the lip's border (Image_with_alpha_0, test_1, test2_0, tongue_0). The rig's targets keep
    the row below the lip (CHIN_MIN_GAP), so the renderer samples the photo there too: the rig's
    own rest pose renders the photo unchanged. It folded 24 px^2 over and sampled the lip under the
    mouth before (a rippled pink blob under every closed mouth)."""
    from thinkdraw.eval.foldover import foldover
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import RenderConfig, Renderer

    img, lm = astronaut[0], _lm(astronaut)
    lm[[18, 83, 313], 1] = lm[[17, 84, 314], 1] - 2.0  # 2 px above the lip's border, as detected
    r = Renderer(img, lm, RenderConfig(mouth=False, wrinkles=False, cheek_max=0.0))
    assert np.all(r.src[[18, 83, 313], 1] > r.src[[17, 84, 314], 1])
    rest = Rig(landmarks=lm).forward({}, relative=False)[0]
    assert foldover(r.src, r.target_vertices(rest)[0]).area == 0.0
    assert foldover(lm, r.target_vertices(rest)[0]).area > 10.0  # the photo's own triangles fold
    assert np.array_equal(r.render(rest), img)


def test_a_toothy_photo_hands_over_to_the_drawn_interior_quickly(renderer, astronaut):
    """A jaw drop parts the rows of teeth: past the photo's own opening and the overbite, its
    stretched teeth and the drawn interior cross-fade; half way through, both rows of teeth show,
    ghosted through a grey band. The hand-over is done once the jaw drops 0.05 IPD past the
    overbite (the astronaut's AU26 0.5 was 0.4 drawn, 0.6 photo; a toothy registry photo's
    0.6 / 0.4)."""
    from thinkdraw.render.geometry import Similarity

    lm = _lm(astronaut)[:, :2]
    ids = list(M.LIPS_INNER_LOWER[1:-1])
    strengths = []
    for extra in (0.0, 0.02, 0.05):
        t = lm.copy()
        t[M.CHIN, 1] += (extra + renderer.mouth_style.overbite) * renderer.ipd
        t[ids, 1] += (extra + renderer.mouth_style.overbite) * renderer.ipd + renderer.config.mouth_open_px
        strengths.append(renderer.mouth_strength(t, Similarity.identity()))
    assert strengths[0] == 0.0 and 0.0 < strengths[1] < 1.0 and strengths[2] == 1.0, strengths


def test_lips_drawn_apart_over_still_teeth_show_the_photos_own(renderer, astronaut):
    """Lips parted without the jaw (AU10, a broader smile) show more of the photo's own teeth,
    stretched, up to RenderConfig.mouth_stretch more than its opening; then the drawn row takes
    over. A photo that shows only the teeth's edges (an opening under CROWN_OPENING_IPD) hands over
    at once: its stretched opening smeared edges and lip shadow."""
    import dataclasses

    from thinkdraw.render.geometry import Similarity
    from thinkdraw.render.warp import CROWN_OPENING_IPD, Renderer

    lm = _lm(astronaut)[:, :2]
    assert renderer.src_open / renderer.ipd > CROWN_OPENING_IPD[1]  # the astronaut shows her crowns
    assert renderer.teeth_stretch == renderer.config.mouth_stretch

    def apart(r: Renderer, share: float) -> float:
        t = lm.copy()  # the upper lip rises, the chin stays
        t[list(M.LIPS_INNER_UPPER[1:-1]), 1] -= share * r.src_open + r.config.mouth_open_px
        return r.mouth_strength(t, Similarity.identity())

    stretch = renderer.config.mouth_stretch
    assert apart(renderer, 0.9 * stretch) == 0.0
    assert apart(renderer, stretch + 2 * renderer.config.mouth_ramp_ipd * renderer.ipd / renderer.src_open) == 1.0
    img, portrait = astronaut
    narrow = portrait.landmarks.copy()  # her opening closed to 0.1 IPD about its middle
    up, low = list(M.LIPS_INNER_UPPER[1:-1]), list(M.LIPS_INNER_LOWER[1:-1])
    mid = (narrow[up, 1] + narrow[low, 1]) / 2
    half = np.minimum((narrow[low, 1] - narrow[up, 1]) / 2, 0.05 * renderer.ipd)
    narrow[up, 1], narrow[low, 1] = mid - half, mid + half
    small = Renderer(img, dataclasses.replace(portrait, landmarks=narrow))
    assert small.src_open / small.ipd < CROWN_OPENING_IPD[0] and small.teeth_stretch == 0.0
    assert apart(small, 0.5 * stretch) == 1.0


def test_lattice_steps_grow_with_the_face_and_never_shrink_below_the_config():
    from thinkdraw.render.warp import RenderConfig, lattice_steps

    cfg = RenderConfig()
    assert lattice_steps(cfg, 43.0) == lattice_steps(cfg, 100.0)
    small = lattice_steps(cfg, 100.0)
    assert (small.fine, small.outer, small.lips) == (cfg.map_step, cfg.outer_step, 1)
    big = lattice_steps(cfg, 400.0)
    assert (big.fine, big.outer, big.lips) == (4 * cfg.map_step, 4 * cfg.outer_step, 4)
    fixed = lattice_steps(RenderConfig(lattice_ipd=0), 400.0)
    assert (fixed.fine, fixed.outer, fixed.lips) == (cfg.map_step, cfg.outer_step, 1)
    exact = lattice_steps(RenderConfig(map_step=1), 400.0)
    assert exact.lips <= exact.fine


def test_a_high_resolution_portrait_renders_as_with_the_small_lattice():
    """Grace Hopper at 4x (ipd ~335 px): the lattice scaled with the face (steps 7 / 13 / 3) gives
    the frame the 512 px steps (2 / 4 / 1) give, to within the map's interpolation at triangle
    edges."""
    import cv2

    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig
    from thinkdraw.samples import load_sample

    big = cv2.resize(load_sample("grace_hopper"), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    portrait = analyze_portrait(big)
    rig = Rig(portrait)
    scaled = Renderer(big, portrait, rig=rig)
    fixed = Renderer(big, portrait, RenderConfig(lattice_ipd=0), rig=rig)
    assert scaled.steps.fine >= 3 * fixed.steps.fine
    target = rig.forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0, "yaw": 8.0})[0]
    d = np.abs(scaled.render(target).astype(np.int16) - fixed.render(target).astype(np.int16)).max(2)
    assert np.mean(d > 8) < 1e-3  # a few edge pixels of the 4.9 Mpx frame
    assert np.sqrt(np.mean(d.astype(np.float64) ** 2)) < 1.0


def test_supersampling_at_the_image_edge_takes_the_pixel_centre():
    """Past the mesh (its last vertices on the last pixel centres), a pixel's outer samples take
    its middle one: no jump to an identity position, no false squeeze at the frame's edge."""
    import pytest

    from thinkdraw.render.raster import Region, supersampled_map

    dst = np.array([[0, 0], [9, 0], [0, 9], [9, 9]], np.float64)
    src = dst * 0.5 + 20.0  # a smooth magnification
    tris = np.array([[0, 1, 3], [0, 3, 2]])
    sx, sy = supersampled_map(dst, src, tris, Region(0, 0, 10, 10), 3)
    assert sx.shape == sy.shape == (30, 30)
    assert np.allclose(sx[:, 0], sx[:, 1]) and np.allclose(sy[0], sy[1])  # x = -1/3 -> the centre's
    assert np.allclose(sx[1:-1, 1:-1][:, 3::3] - sx[1:-1, 1:-1][:, :-3:3], 0.5, atol=1e-4)  # inside: exact
    with pytest.raises(ValueError, match="odd"):
        supersampled_map(dst, src, tris, Region(0, 0, 10, 10), 2)


def test_squeeze_is_the_largest_minification_of_a_triangle_map():
    """squeeze: the largest singular value of each triangle's backward map (target -> source),
    inf when a triangle folds over or collapses."""
    from thinkdraw.render.raster import affine_maps, squeeze

    rng = np.random.default_rng(5)
    src = rng.uniform(0, 50, (12, 2))
    tris = np.arange(12).reshape(4, 3)
    M = np.array([[0.9, 0.3], [-0.1, 0.25]])  # squeezes one direction about 4:1 (det > 0: nothing folds)
    dst = src @ M.T + 7.0
    _, aff, _ = affine_maps(dst, src, tris)
    expect = np.linalg.svd(aff[:, :, :2], compute_uv=False)[:, 0].max()
    assert np.isclose(squeeze(dst, src, tris), expect) and np.isclose(expect, 1 / np.linalg.svd(M, compute_uv=False)[1])
    assert squeeze(dst * [1, -1], src, tris) == float("inf")  # mirrored: every triangle folds
    assert squeeze(src, src, tris[:0]) == 0.0 and np.isclose(squeeze(src + 3.0, src, tris), 1.0)


def test_a_mouth_narrower_than_the_photos_open_one_shows_its_middle(astronaut):
    """Renderer.mouth_crop / frame_src: lips drawn together over a toothy photo's teeth (AU10 + AU25
    on the smile neutralised) show the middle of its opening, teeth at their width, not the whole
    opening squeezed with its dark corridors into black wedges at the corners. Only the mouth hole's
    ring moves its source; a wider mouth (a broad smile) renders as before, and the torch path agrees."""
    from thinkdraw.eval.corners import opening_dark_share
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig, _crop_opening

    img, portrait = astronaut
    rig = Rig(portrait)
    crop, squeeze = Renderer(img, portrait, rig=rig), Renderer(img, portrait, RenderConfig(mouth_crop=False), rig=rig)
    t = rig.forward({"AU10": 0.8, "AU25": 0.72})[0]
    head = crop.target_vertices(t[:, :2])[1]
    r = crop.mouth_crop(t, head)
    assert 0.6 < r < 0.9 and squeeze.mouth_crop(t, head) == 1.0
    src = crop.frame_src(t, head)
    moved = np.flatnonzero(np.any(src != crop.src, axis=1))
    assert len(moved) and moved.min() >= crop.hole0 and moved.max() < crop.sup0
    ring = src[crop.hole0 : crop.sup0]
    a, b = crop.hole_chains[0][[0, -1]]  # the corners
    assert np.isclose(np.linalg.norm(ring[b] - ring[a]), r * crop.src_mouth_width, rtol=0.02)
    assert np.allclose(_crop_opening(crop.src[crop.hole0 : crop.sup0], *crop.hole_chains, 1.0), crop.src[crop.hole0 : crop.sup0], atol=1e-6)
    a_img, b_img = crop.render(t), squeeze.render(t)
    assert opening_dark_share(a_img, t) < 0.5 * opening_dark_share(b_img, t)
    lips = crop.lips_window(crop.target_vertices(t[:, :2])[0])
    outside = np.ones(img.shape[:2], bool)
    outside[lips.slices()] = False
    assert np.array_equal(a_img[outside], b_img[outside])  # only the mouth changed
    wide = rig.forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0})[0]
    assert np.array_equal(crop.render(wide), squeeze.render(wide))


def test_torch_crops_the_mouth_as_numpy_does(astronaut):
    pytest.importorskip("torch")
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.torch_warp import TorchRenderer
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    r = Renderer(img, portrait, RenderConfig(map_step=1), rig=rig)
    seq = np.stack([rig.forward(p)[0] for p in ({"AU10": 0.8, "AU25": 0.72}, {"AU23": 1.0, "AU25": 0.6})])
    tr = TorchRenderer(r, "cpu")
    verts, heads = zip(*(r.target_vertices(f) for f in seq))
    maps = tr.maps(np.stack(verts), np.stack([r.frame_src(f, h) for f, h in zip(seq, heads)])).numpy()
    for i, frame in enumerate(seq):
        region, mx, my, dst, _ = r.maps(frame)
        lips = r.lips_window(dst).intersect(region)
        got = maps[i][lips.slices()]
        assert np.abs(got[..., 0] - mx[lips.slices_in(region)]).max() < 0.05
        assert np.abs(got[..., 1] - my[lips.slices_in(region)]).max() < 0.05
