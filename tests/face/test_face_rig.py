"""The FACS rig: forward shapes, AU regions and amplitudes, eyelids, inverse, neutralisation."""

from __future__ import annotations

import numpy as np
import pytest

from thinkdraw.errors import InputError
from thinkdraw.face import geometry, mesh
from thinkdraw.face.canonical import canonical_neutral
from thinkdraw.face.rig import Rig, _mouth_width, authored_rig, estimate_own_aus, own_displacement, rig_spec
from thinkdraw.motion import au_channels, rig_channels
from thinkdraw.render.raster import affine_maps, signed_area

CH = rig_channels()
N_AU = len(au_channels())
IDX = {c: i for i, c in enumerate(CH)}

# Where each AU acts (vertex groups); used to check "moves its own region most".
BROWS = set(mesh.LEFT_BROW + mesh.RIGHT_BROW)
EYES = set(mesh.LEFT_EYE + mesh.RIGHT_EYE)
MOUTH = set(mesh.LIPS_OUTER + mesh.LIPS_INNER)
REGION_OF = {
    "AU1": "brows", "AU2L": "brows", "AU2R": "brows", "AU4": "brows", "AU5": "eyes", "AU6": "cheeks",
    "AU7": "eyes", "AU9": "nose", "AU10": "mouth", "AU11": "mouth", "AU12L": "mouth", "AU12R": "mouth",
    "AU13": "mouth", "AU14L": "mouth", "AU14R": "mouth", "AU15": "mouth", "AU16": "mouth",
    "AU17": "jaw", "AU18": "mouth", "AU20": "mouth", "AU22": "mouth", "AU23": "mouth", "AU24": "mouth",
    "AU25": "mouth", "AU26": "jaw", "AU27": "jaw", "AU28": "mouth", "AU41": "eyes", "AU42": "eyes",
    "AU43": "eyes", "AU44": "eyes", "AU45L": "eyes", "AU45R": "eyes",
}


def _region_vertices(canon: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks over the 468 mesh vertices by canonical position (IOD units, y up)."""
    x, y = canon[:468, 0], canon[:468, 1]
    ax = np.abs(x)
    return {
        "brows": (y > 0.12),
        "eyes": (y > -0.2) & (y <= 0.25) & (ax > 0.15) & (ax < 0.95),
        "cheeks": (y > -0.8) & (y < 0.0) & (ax > 0.2),
        "nose": (y > -0.8) & (y < 0.15) & (ax < 0.45),
        "mouth": (y < -0.75) & (y > -1.35) & (ax < 0.75),
        "jaw": (y < -0.85),
    }


@pytest.fixture(scope="module")
def canon_rig() -> Rig:
    return Rig.canonical(iod_px=100.0)


@pytest.fixture(scope="module")
def astro_rig(astro_portrait) -> Rig:
    return Rig(astro_portrait)


def _iod_units(rig: Rig, params) -> np.ndarray:
    """Displacement (478, 3) of params from the rig's neutral, in IOD units (frontal rig)."""
    return (rig.forward(params)[0] - rig.forward({})[0]) / rig.s0


def test_channels_match_motion_space(canon_rig):
    assert Rig.channels == CH and len(CH) == 41
    assert authored_rig().static.shape == (N_AU + 2, 478, 3)


def test_forward_shapes_and_identity(astro_rig, astro_portrait):
    d = len(CH)
    assert astro_rig.forward({}).shape == (1, 478, 3)
    assert astro_rig.forward(np.zeros(d)).shape == (1, 478, 3)
    out = astro_rig.forward(np.zeros((7, d)))
    assert out.shape == (7, 478, 3) and np.isfinite(out).all()
    # relative=False with zero params reproduces the photo's own landmarks (identity kept)
    raw = astro_rig.forward({}, relative=False)[0]
    assert np.abs(raw - astro_portrait.landmarks).max() < 1e-3
    # the neutralised face stays inside the face box
    x0, y0, x1, y1 = astro_portrait.box
    n = astro_rig.neutral_landmarks
    assert n[:, 0].min() > x0 - 10 and n[:, 0].max() < x1 + 10 and n[:, 1].max() < y1 + 10


def test_forward_rejects_bad_params(canon_rig):
    with pytest.raises(InputError, match="unknown rig channel"):
        canon_rig.forward({"AU99": 1.0})
    with pytest.raises(InputError, match=r"\(D,\) or \(T, D\)"):
        canon_rig.forward(np.zeros(5))
    with pytest.raises(InputError, match="landmarks must be"):
        canon_rig.inverse(np.zeros((3, 468, 2)))


@pytest.mark.parametrize("au", list(REGION_OF))
def test_each_au_moves_its_region(canon_rig, au):
    from thinkdraw.face.canonical import canonical_neutral

    regions = _region_vertices(canonical_neutral())
    disp = np.linalg.norm(_iod_units(canon_rig, {au: 1.0})[:468, :2], axis=1)
    assert disp.max() > 0.05, f"{au} barely moves ({disp.max():.3f} IOD)"
    own = regions[REGION_OF[au]]
    assert own[np.argmax(disp)], f"{au} moves vertex {np.argmax(disp)} most, outside its region"
    # far regions stay: mouth/jaw AUs leave the brows, brow/eye AUs leave the mouth
    if REGION_OF[au] in ("mouth", "jaw"):
        assert disp[list(BROWS)].max() < 0.005
    if REGION_OF[au] in ("brows", "eyes"):
        assert disp[list(MOUTH)].max() < 0.005


def test_amplitudes_at_level_e(canon_rig):
    n = canon_rig.forward({})[0] / canon_rig.s0
    x = canon_rig.forward({"AU26": 1.0})[0] / canon_rig.s0
    opening = (x[14, 1] - x[13, 1]) - (n[14, 1] - n[13, 1])
    assert 0.35 <= opening <= 0.45
    x = canon_rig.forward({"AU12L": 1.0, "AU12R": 1.0})[0] / canon_rig.s0
    lift = -(x[[61, 291], 1] - n[[61, 291], 1])  # pixels: y down
    assert (lift > 0.1).all()
    widen = (x[291, 0] - x[61, 0]) - (n[291, 0] - n[61, 0])
    # smiling photos are ~0.27 IOD wider per unit of their own AU12 than non-smiling faces (rig.yaml
    # AU12); at 0.2 the neutralised smiles stayed wide and "surprised" on them read as a laugh
    assert 0.25 < widen < 0.35
    # AU25 alone parts the lips a little, AU25 + AU26 more than AU26 alone
    gap = lambda p: float(np.diff(canon_rig.forward(p)[0][[13, 14], 1])[0] / canon_rig.s0)  # noqa: E731
    assert 0.05 < gap({"AU25": 1.0}) < gap({"AU26": 1.0}) < gap({"AU25": 1.0, "AU26": 1.0})
    # AU26 carries the chin
    assert canon_rig.forward({"AU26": 1.0})[0][152, 1] - canon_rig.forward({})[0][152, 1] > 0.2 * canon_rig.s0


def test_unilateral_channels_are_the_persons_side(canon_rig):
    d = _iod_units(canon_rig, {"AU12L": 1.0})
    assert np.linalg.norm(d[291]) > 5 * np.linalg.norm(d[61])  # 291 = person's left corner
    d = _iod_units(canon_rig, {"AU45R": 1.0})
    assert np.abs(d[list(mesh.RIGHT_EYE_UPPER), 1]).max() > 0.05
    assert np.abs(d[list(mesh.LEFT_EYE_UPPER), 1]).max() < 1e-6


@pytest.mark.parametrize("params", [
    {"AU43": 1.0},
    {"AU45L": 1.0, "AU45R": 1.0},
    {"AU43": 1.0, "AU5": 1.0},
    {"AU45L": 1.0, "AU45R": 1.0, "AU7": 1.0, "AU6": 1.0},
    {"AU43": 1.0, "gaze_v": 1.0},
])
def test_closed_eyes_meet(astro_rig, params):
    x = astro_rig.forward(params)[0]
    for up, lo in ((mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER), (mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER)):
        gap = np.abs(x[list(up[1:-1]), :2] - x[list(lo[1:-1]), :2]).max()
        assert gap < 0.01 * astro_rig.s0, f"lids {gap:.2f} px apart"


def test_lids_never_cross(astro_rig):
    # canonical frame, y up: upper lid at or above the lower lid, upper inner lip above the lower
    x = astro_rig.forward_canonical({"AU41": 1.0, "AU42": 1.0, "AU44": 1.0, "AU7": 1.0, "AU6": 1.0, "AU9": 1.0})[0]
    for up, lo in ((mesh.LEFT_EYE_UPPER, mesh.LEFT_EYE_LOWER), (mesh.RIGHT_EYE_UPPER, mesh.RIGHT_EYE_LOWER)):
        assert (x[list(up[1:-1]), 1] >= x[list(lo[1:-1]), 1] - 1e-9).all()
    x = astro_rig.forward_canonical({"AU17": 1.0, "AU24": 1.0, "AU28": 1.0, "AU23": 1.0})[0]
    assert (x[list(mesh.LIPS_INNER_UPPER[1:-1]), 1] >= x[list(mesh.LIPS_INNER_LOWER[1:-1]), 1] - 1e-9).all()


def test_gaze_moves_irises_toward_the_persons_right(canon_rig):
    d = canon_rig.forward({"gaze_h": 1.0})[0] - canon_rig.forward({})[0]
    assert (d[list(mesh.IRISES), 0] < -3).all()  # person's right = image left
    assert np.abs(d[:468]).max() < 1e-6
    d = canon_rig.forward({"gaze_v": 1.0})[0] - canon_rig.forward({})[0]
    assert (d[list(mesh.IRISES), 1] < -3).all()  # up = smaller pixel y


def test_pose_channels(canon_rig):
    base = canon_rig.forward({})[0]
    turned = canon_rig.forward({"yaw": 15.0})[0]
    # yaw > 0 turns to the person's right: the nose tip moves toward the image left
    assert turned[mesh.NOSE_TIP, 0] - base[mesh.NOSE_TIP, 0] < -5
    up = canon_rig.forward({"pitch": 15.0})[0]
    assert up[mesh.CHIN, 1] - base[mesh.CHIN, 1] < -3  # chin up
    rolled = canon_rig.forward({"roll": 15.0})[0]
    # roll toward the right shoulder: the person's right eye (image left) goes down
    assert rolled[33, 1] > base[33, 1] and rolled[263, 1] < base[263, 1]
    moved = canon_rig.forward({"tx": 0.5, "ty": -0.25, "scale": np.log(1.5)})[0]
    w = canon_rig.face_width
    c0, c1 = base[:468, :2].mean(0), moved[:468, :2].mean(0)
    assert c1[0] - c0[0] == pytest.approx(0.5 * w, rel=0.35)
    assert c1[1] < c0[1]
    assert np.ptp(moved[:468, 0]) / np.ptp(base[:468, 0]) == pytest.approx(1.5, rel=0.02)


def test_euler_round_trip():
    rng = np.random.default_rng(3)
    ang = rng.uniform(-40, 40, (50, 3))
    r = geometry.euler_to_matrix(ang[:, 0], ang[:, 1], ang[:, 2])
    back = np.stack(geometry.matrix_to_euler(r), axis=1)
    assert np.allclose(back, ang, atol=1e-8)
    assert np.allclose(r @ r.transpose(0, 2, 1), np.eye(3), atol=1e-12)


def _random_motion(rng: np.random.Generator, t_n: int, max_deg: float = 20.0) -> np.ndarray:
    """Sparse random AU combinations (1-4 AUs, 0.2..1), random pose and gaze."""
    p = np.zeros((t_n, len(CH)))
    # near-duplicates, and the antagonist pairs the inverse assumes never act together
    exclusive = [{"AU43", "AU45L", "AU45R"}, {"AU26", "AU27"}] + [set(p) for p in rig_spec()["exclusive"]]
    for t in range(t_n):
        chosen: list[str] = []
        for c in rng.permutation(au_channels())[: rng.integers(1, 5)]:
            if not any(c in g and g & set(chosen) for g in exclusive):
                chosen.append(c)
        for c in chosen:
            p[t, IDX[c]] = rng.uniform(0.2, 1.0)
    p[:, N_AU:N_AU + 3] = rng.uniform(-max_deg, max_deg, (t_n, 3))
    p[:, N_AU + 3:N_AU + 5] = rng.uniform(-0.2, 0.2, (t_n, 2))
    p[:, N_AU + 5] = rng.uniform(-0.2, 0.2, t_n)
    p[:, N_AU + 6:] = rng.uniform(-0.6, 0.6, (t_n, 2))
    return p


@pytest.mark.parametrize("dims", [3, 2])
def test_forward_inverse_round_trip(astro_rig, dims):
    rng = np.random.default_rng(11 + dims)
    p = _random_motion(rng, 60)
    lm = astro_rig.forward(p)
    est = astro_rig.inverse(lm[..., :dims])
    assert est.shape == (60, len(CH)) and est.dtype == np.float32
    err = np.abs(est - p)
    assert err[:, :N_AU].mean() <= 0.05
    assert (est[:, :N_AU] >= 0).all() and (est[:, :N_AU] <= 1).all()
    assert err[:, N_AU:N_AU + 3].mean() < 1.0  # degrees
    assert err[:, N_AU + 6:].mean() < 0.05  # gaze


INNER_BROW_L, OUTER_BROW_L = [285, 295, 336, 296], [276, 283, 300, 293]


def test_sad_brows_are_oblique(canon_rig):
    """FACS 1+4: inner brow corners raised AND drawn together, lateral brow lowered; the plain sum
    of the two fields would leave the inner corners level (AU4 cancelling AU1)."""
    both = _iod_units(canon_rig, {"AU1": 1.0, "AU4": 1.0})
    au1 = _iod_units(canon_rig, {"AU1": 1.0})
    au4 = _iod_units(canon_rig, {"AU4": 1.0})
    inner_up = -both[INNER_BROW_L, 1].mean()  # pixels y down -> up is negative
    assert inner_up > 0.08  # raised (the sum of the two fields leaves < 0.04)
    assert inner_up > -(au1 + au4)[INNER_BROW_L, 1].mean() + 0.05
    assert -both[OUTER_BROW_L, 1].mean() < 0.0  # lateral brow lowered: the brow is oblique
    gap = lambda d: np.abs(d[INNER_BROW_L, 0]).mean()  # noqa: E731
    assert gap(both) > gap(au1) + 0.03  # drawn toward the midline as by AU4
    one = _iod_units(canon_rig, {"AU1": 1.0, "AU15": 1.0})  # no interaction without AU4
    np.testing.assert_allclose(one, au1 + _iod_units(canon_rig, {"AU15": 1.0}), atol=1e-9)


def test_open_smile_lifts_the_upper_lip_off_the_teeth(canon_rig):
    """rig.yaml interaction AU12+AU25: photographed open smiles sit 0.099 IOD closer to the nose than
    resting mouths (21 against 14 frontal registry faces, `bench/faces.py --only width`), closed
    smiles 0.012; a smile or parted lips alone hardly lift it. Split per side: one corner pulled lifts that half of the lip."""
    def lift(params) -> float:  # inner upper lip (13) toward the subnasale (2), IOD
        d = _iod_units(canon_rig, params)
        return float(d[2, 1] - d[13, 1])

    both = lift({"AU12L": 1.0, "AU12R": 1.0, "AU25": 0.8})
    smile, parted = lift({"AU12L": 1.0, "AU12R": 1.0}), lift({"AU25": 0.8})
    assert smile < 0.03 and parted < 0.03
    assert both > smile + parted + 0.08
    d = _iod_units(canon_rig, {"AU12L": 1.0, "AU25": 1.0}) - _iod_units(canon_rig, {"AU12L": 1.0}) - _iod_units(canon_rig, {"AU25": 1.0})
    assert -d[312, 1] > 0.08 and abs(d[82, 1]) < 0.25 * -d[312, 1]  # the person's left half (312) lifts


def test_open_smile_lift_saturates_at_the_gum_line(canon_rig):
    """The AU12 x AU25 lift saturates (rig.yaml ``saturate``): the photos' mean open smile (AU12 0.55,
    AU25 0.75) lifts the inner upper lip about 0.1 IOD as fitted, and a full one at most to the
    upper teeth's gum line (render.mouth.MouthStyle: 0.135 IPD above the resting contact line), not
    0.18 as the bilinear term extrapolated (a tall band of gum on every laugh)."""
    from thinkdraw.render.mouth import MouthStyle

    def lift(a12: float, a25: float) -> float:  # inner upper lip (13) up from rest, IOD
        return float(-_iod_units(canon_rig, {"AU12L": a12, "AU12R": a12, "AU25": a25})[13, 1])

    style = MouthStyle(*(np.zeros(3),) * 4)
    gum_line = style.upper_height - style.upper_drop
    assert 0.075 < lift(0.55, 0.75) < 0.11
    assert gum_line - 0.03 < lift(1.0, 1.0) < gum_line + 0.01
    ar = authored_rig()
    it = next(it for it in ar.interactions if ar.columns[it.i] == "AU12L" and it.saturate is not None)
    p = np.linspace(0.0, 1.0, 21)
    knee, limit = it.saturate
    assert np.all(np.diff(it.amount(p)) > 0) and np.all(it.amount(p) < limit)  # rising, below its limit
    np.testing.assert_array_equal(it.amount(p[p <= knee]), p[p <= knee])  # as fitted on the photos
    assert np.all(np.diff(it.slope(p)) <= 0) and it.slope(np.array(1.0)) < 0.2  # ever slower
    h = 1e-6
    np.testing.assert_allclose(it.slope(p[1:-1]), (it.amount(p[1:-1] + h) - it.amount(p[1:-1] - h)) / (2 * h), rtol=1e-5)


def test_upper_lip_stops_just_above_the_gum_line(canon_rig):
    """AU10 on a full open smile: the three AUs' lifts add up to 0.10-0.14 IOD past the gum line (a
    tall band of gum); the lip stops softly UPPER_LIP_OVER_GUM above it and its red keeps most of
    its rest height. The stop's gum line is the one the renderer draws its teeth to."""
    from thinkdraw.face import rig as R
    from thinkdraw.render import mouth as M

    style = M.MouthStyle(*(np.zeros(3),) * 4)
    assert R.GUM_LINE == pytest.approx((style.upper_height - style.upper_drop, M.GUM_ARC))
    full = {"AU10": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0}
    n = canonical_neutral()
    ids = list(R.UPPER_LIP_STOP_COLUMNS)
    inner = [c[0] for c in ids]
    contact = 0.5 * (n[13] + n[14])
    gum = contact[1] + R.GUM_LINE[0] + R.GUM_LINE[1] * (n[inner, 0] - contact[0]) ** 2 - n[inner, 1]
    free = -_iod_units(canon_rig, full)[inner, 1]  # y down in pixels: lift = -dy
    assert free.max() < gum.max() + R.UPPER_LIP_OVER_GUM + 1e-6 and np.all(free - gum < R.UPPER_LIP_OVER_GUM)
    assert np.max(free - gum) > 0.0  # some gum does show under a full upper-lip raiser
    model = canon_rig.model

    def unstopped(params) -> np.ndarray:  # (478, 3) canonical shape before the stops, y up
        a = np.zeros((1, model.n_columns))
        for c, v in params.items():
            a[0, model.columns.index(c)] = v
        return model.shape(a, clamp=False)

    assert np.max(unstopped(full)[0, inner, 1] - model.neutral[inner, 1] - gum) > 0.08  # 0.1 past it
    # the red of the lip (inner edge -> outer border, midline) keeps over half its rest height
    d = _iod_units(canon_rig, full)
    red = (n[0, 1] - n[13, 1]) - (d[0, 1] - d[13, 1])  # y down: the border's dy minus the edge's
    assert red > 0.5 * (n[0, 1] - n[13, 1])
    # below the knee nothing changes: AU10 alone (no smile) lifts the middle of the lip as authored
    raw = unstopped({"AU10": 1.0})
    stopped = R.limit_upper_lip(raw, model.neutral)
    np.testing.assert_allclose(stopped[0, [13, 82, 312], 1], raw[0, [13, 82, 312], 1], atol=1e-4)


def test_interaction_on_split_channels_pairs_each_side():
    ar = authored_rig()
    col = {c: i for i, c in enumerate(ar.columns)}
    terms: dict[tuple[str, str], np.ndarray] = {}
    for it in ar.interactions:  # a pair's saturating and bilinear parts summed
        key = (ar.columns[it.i], ar.columns[it.j])
        terms[key] = terms.get(key, 0.0) + it.field
    assert {("AU12L", "AU25"), ("AU12R", "AU25"), ("AU1", "AU4")} <= set(terms)
    left, right = terms[("AU12L", "AU25")], terms[("AU12R", "AU25")]
    assert left[312, 1] > 0.1 and right[82, 1] == pytest.approx(left[312, 1])
    assert abs(left[82, 1]) < 0.25 * left[312, 1]  # the other half only near the midline
    assert col["AU25"] not in {it.i for it in ar.interactions if ar.columns[it.i].startswith("AU12")}


def test_open_smile_neutralises_back_to_the_rest_face(canon_rig):
    """Own-AU estimation includes the AU12 x AU25 lift: a rig-made open smile reads back as its AUs
    and its neutralised mouth is the resting one."""
    smiling = canon_rig.forward({"AU12L": 0.6, "AU12R": 0.6, "AU25": 0.8})[0]
    rig = Rig.from_landmarks(smiling)
    for c, v in (("AU12L", 0.6), ("AU12R", 0.6), ("AU25", 0.8), ("AU26", 0.0), ("AU15", 0.0)):
        assert rig.own_aus[c] == pytest.approx(v, abs=0.12), (c, rig.own_aus)
    mouth = list(mesh.LIPS_INNER_UPPER) + list(mesh.LIPS_INNER_LOWER) + [0, 17]
    err = np.abs(rig.neutral_landmarks[mouth, :2] - canon_rig.forward({})[0][mouth, :2]).max() / canon_rig.s0
    assert err < 0.02, err


@pytest.mark.parametrize("jaw", [{"AU26": 0.08, "AU27": 0.05}, {"AU26": 0.05}, {"AU27": 0.06}])
def test_a_smile_parted_partly_by_the_jaw_neutralises_with_closed_lips(canon_rig, jaw):
    """A toothy smile whose opening the jaw carries a small share of (multi_face_1 read as AU26 0.08
    + AU27 0.05): own AUs too weak to count were zeroed after the fit, and their share of the
    opening with them, so its neutral face kept the lips 0.02-0.06 IOD apart and a sad mouth on it
    showed a band of teeth. The AUs that count are refitted and the lips meet."""
    smiling = canon_rig.forward({"AU12L": 0.5, "AU12R": 0.5, "AU25": 0.8, **jaw})[0]
    rig = Rig.from_landmarks(smiling)
    rest = rig.neutral_landmarks
    assert (rest[14, 1] - rest[13, 1]) / canon_rig.s0 < 0.01, rig.own_aus
    assert rig.own_aus["AU25"] > 0.7


BROW_L_MEDIAL_TO_LATERAL = [(285, 336), (295, 296), (282, 334), (283, 293), (276, 300)]  # (lower, upper)


def _brow_rise(rig: Rig, params) -> np.ndarray:
    """Rise (IOD, up positive) of the person's left brow at 5 stations, medial to lateral."""
    d = _iod_units(rig, params)
    return np.array([-d[list(pair), 1].mean() for pair in BROW_L_MEDIAL_TO_LATERAL])


def test_brow_raisers_share_the_brow(canon_rig):
    """FACS 1+2 (surprise, fear): the whole brow rises into a curved arch. AU1 lifts the medial
    brow and fades laterally (an oblique brow), AU2 the lateral brow fading medially; together
    they rise about evenly. When each AU also lifted the middle of the brow, the middle rose twice
    as far as its ends (0.27 vs 0.13 IOD): a sharp peak that made raised brows look pencilled."""
    au1 = _brow_rise(canon_rig, {"AU1": 1.0})
    au2 = _brow_rise(canon_rig, {"AU2L": 1.0, "AU2R": 1.0})
    both = _brow_rise(canon_rig, {"AU1": 1.0, "AU2L": 1.0, "AU2R": 1.0})
    assert np.all(np.diff(au1) <= 1e-9) and au1[0] > 0.1 and au1[-1] < 0.02  # oblique, medial up
    assert np.all(np.diff(au2[1:]) >= -0.02) and au2[-1] > 0.1 and au2[0] < 0.02  # lateral up
    assert both.min() > 0.1
    assert both.max() < 1.4 * min(both[0], both[-1])  # an arch, not a peak


LASH_L = [466, 388, 387, 386, 385, 384, 398]  # upper lid margin, person's left
FOLD_L = [467, 260, 259, 257, 258, 286, 414]  # the ring above it (top of the pretarsal band)
ABOVE_FOLD_L = [342, 445, 444, 443, 442, 441, 413]


@pytest.mark.parametrize("params", [{"AU1": 1.0}, {"AU2L": 1.0, "AU2R": 1.0}, {"AU1": 1.0, "AU2L": 1.0}])
def test_brow_raise_leaves_the_tarsal_band_rigid(canon_rig, params):
    """The tarsal plate does not stretch when the brows rise; the skin above the fold does. With
    the fold ring following the brow by half (as before), the lashes and lid shadow were stretched
    into a grey band under a raised brow on the astronaut, and MediaPipe took it for the brow."""
    d = _iod_units(canon_rig, params)
    brow_up = -d[INNER_BROW_L + OUTER_BROW_L, 1].min()  # pixels: y down
    assert brow_up > 0.05
    assert np.abs(d[FOLD_L] - d[LASH_L]).max() < 0.1 * brow_up  # band kept rigid
    assert -d[ABOVE_FOLD_L, 1].min() > 0.25 * brow_up  # the skin above the fold still unfolds


@pytest.mark.parametrize("dims", [3, 2])
def test_inverse_recovers_interacting_aus(astro_rig, dims):
    p = {"AU1": 0.8, "AU4": 0.55, "AU15": 0.8, "AU17": 0.55, "yaw": 8.0}
    est = astro_rig.inverse(astro_rig.forward(p)[..., :dims])[0]
    for au in ("AU1", "AU4", "AU15", "AU17"):
        assert est[IDX[au]] == pytest.approx(p[au], abs=0.05), au


@pytest.mark.parametrize("params", [{"AU26": 1.0}, {"AU27": 1.0}, {"AU25": 1.0, "AU26": 1.0}])
def test_open_mouth_is_an_oval_not_a_box(canon_rig, params):
    """The lower lip's inner edge drops along a half ellipse between the corners: the drop grows
    smoothly toward the midline, and the upper lip arches over the opening. (A Gaussian pin at the corners made the sides drop at once and
    the bottom flat: 318, two vertices from the corner, at 0.9 of the full depth.)"""
    x = canon_rig.forward(params)[0]
    ring = [308, 324, 318, 402, 317, 14]  # corner -> midline, person's left
    rel = (x[ring, 1] - x[308, 1]) / (x[14, 1] - x[308, 1])
    half = x[308, 0] - x[14, 0]
    ellipse = np.sqrt(np.clip(1.0 - ((x[ring, 0] - x[14, 0]) / half) ** 2, 0.0, 1.0))
    assert np.all(np.diff(rel) > 0.0)
    np.testing.assert_allclose(rel, ellipse, atol=0.12)  # the box was 0.23 off
    # the relaxed corners ride down with the jaw by about a third of the lower lip (a laughing U
    # keeps them up); measured on the inner corner against the lower lip's midpoint
    rest = canon_rig.forward({})[0]
    share = (x[308, 1] - rest[308, 1]) / (x[14, 1] - rest[14, 1])
    assert 0.2 < share < 0.45, share
    # the upper lip follows the lowered corners as an arch over the opening; it stayed level up to
    # two vertices from the corner (310 at 0.14, 0.15 and -0.02 of the corner's drop) and fell to
    # the corner at once: a flat top on steep walls, a shouting mouth's box
    upper = [308, 415, 310, 311, 312, 13]  # inner upper lip, corner -> midline
    fall = x[upper, 1] - rest[upper, 1]
    assert fall[2] > 0.2 * fall[0], np.round(fall, 2)
    assert np.all(np.diff(fall[:3]) < 0.0)
    # the chin rides on the jaw: from the lower lip down to the chin's bottom, the skin drops less
    # and less (a corner drop leaking onto the chin boss made the labiomental fold outrun the lip)
    column = [17, 18, 200, 199, 175, 152]  # outer lower lip .. chin bottom
    drop = x[column, 1] - rest[column, 1]
    assert np.all(np.diff(drop) <= 1e-6), np.round(drop, 2)


def test_inverse_with_neutral_reference(canon_rig):
    neutral = canon_rig.forward({"yaw": 10.0})[0]
    target = canon_rig.forward({"yaw": 10.0, "AU4": 0.7, "AU15": 0.6})
    est = canon_rig.inverse(target, neutral=neutral)[0]
    assert est[IDX["AU4"]] == pytest.approx(0.7, abs=0.05)
    assert est[IDX["AU15"]] == pytest.approx(0.6, abs=0.05)
    assert abs(est[IDX["yaw"]]) < 1.0  # relative to the reference's own pose


def test_smile_neutralisation_synthetic(canon_rig):
    smiling = canon_rig.forward({"AU12L": 0.8, "AU12R": 0.8, "AU25": 0.3, "AU6": 0.5})[0]
    rig = Rig.from_landmarks(smiling)
    assert rig.own_aus["AU12L"] == pytest.approx(0.8, abs=0.12)
    assert rig.own_aus["AU12R"] == pytest.approx(0.8, abs=0.12)
    assert rig.own_aus["AU15"] == 0.0
    sad = rig.forward({"AU15": 0.8})[0]
    stom = 0.5 * (sad[13, 1] + sad[14, 1])
    assert (sad[[61, 291], 1] > stom).all()  # corners below the lip midline: no smile left
    kept = rig.forward({"AU15": 0.8}, relative=False)[0]
    # without neutralisation the photo's smile survives under the AU15 (corners much higher)
    assert (sad[[61, 291], 1] - kept[[61, 291], 1] > 0.05 * canon_rig.s0).all()
    # the neutralised face is close to the true neutral (mouth corners within 0.03 IOD)
    true_n = canon_rig.forward({})[0]
    assert np.abs(rig.neutral_landmarks[[61, 291], :2] - true_n[[61, 291], :2]).max() < 0.03 * canon_rig.s0


def _closed_smile(canon_rig, a12: float, a25: float) -> np.ndarray:
    """Pixel landmarks of the canonical face with corners raised by AU12 at ``a12`` but not widened
    (closed smiles in photos barely widen the mouth), lips parted by AU25 at ``a25``."""
    m = canon_rig.model
    up = a12 * (m.basis[m.columns.index("AU12L")] + m.basis[m.columns.index("AU12R")]) * np.array([0.0, 1.0, 1.0])
    shape = m.neutral + up + a25 * m.basis[m.columns.index("AU25")]
    return canon_rig._to_pixels(shape[None], np.zeros((1, 6)))[0]


def test_neutralising_a_closed_smile_keeps_the_mouth_width(canon_rig):
    """A closed smile raises the corners without widening the mouth: neutralising it lowers the corners
    but does not pinch the mouth narrower than a resting one. Parted lips keep the whole removal."""
    rest_w = _mouth_width(canonical_neutral())
    closed = Rig.from_landmarks(_closed_smile(canon_rig, 0.5, 0.0))
    assert closed.own_aus["AU12L"] > 0.3 and closed.own_aus["AU25"] == 0.0
    n = closed.model.neutral
    assert _mouth_width(n) == pytest.approx(rest_w, abs=0.01)  # was 0.07 narrower
    assert n[[61, 291], 1].max() - 0.5 * (n[13, 1] + n[14, 1]) < 0.01  # corners down
    full = _mouth_width(closed.model_raw.neutral - own_displacement(closed.model_raw, closed.own_aus)[1])
    assert full < rest_w - 0.05  # what removing the whole AU12 field would give
    parted = Rig.from_landmarks(_closed_smile(canon_rig, 0.5, 1.0))
    assert parted.model_raw.neutral[13, 1] - parted.model_raw.neutral[14, 1] > 0.1  # lips apart
    assert _mouth_width(parted.model.neutral) < rest_w - 0.05  # open lips: the whole pull removed
    wide = Rig.from_landmarks(canon_rig.forward({"AU12L": 0.6, "AU12R": 0.6})[0])  # the rig's own broad smile
    assert _mouth_width(wide.model.neutral) == pytest.approx(rest_w, abs=0.02)


def _widened(canon_rig, params: dict[str, float], a12_x: float) -> np.ndarray:
    """Pixel landmarks of the rig's own ``params`` on the canonical face, the mouth then widened by
    the x part of AU12 (both sides) at ``a12_x`` more, as photographed open smiles are."""
    m = canon_rig.model
    x = (m.basis[m.columns.index("AU12L")] + m.basis[m.columns.index("AU12R")]) * np.array([1.0, 0.0, 0.0])
    shape = canon_rig.forward_canonical(params)[0] + a12_x * x
    return canon_rig._to_pixels(shape[None], np.zeros((1, 6)))[0]


def test_neutralising_an_open_smile_removes_its_width(canon_rig):
    """Open smiles in photos are wider than their corner lift says (22 registry faces neutralised
    0.867 IOD wide, rest 0.792, when only the own AU12's pull was removed): as far as the lips are
    apart, more of AU12's sideways pull goes, down to a resting width. A mouth at rest with the lips
    apart and no smile keeps its own width."""
    rest_w = _mouth_width(canonical_neutral())
    smile = Rig.from_landmarks(_widened(canon_rig, {"AU12L": 0.5, "AU12R": 0.5, "AU25": 1.0}, 0.4))
    assert 0.35 < smile.own_aus["AU12L"] < 0.65 and smile.own_aus["AU25"] > 0.8
    assert _mouth_width(smile.model_raw.neutral) > rest_w + 0.2
    assert _mouth_width(smile.model.neutral) == pytest.approx(rest_w, abs=0.02)  # 0.11 wider before
    wide_mouth = Rig.from_landmarks(_widened(canon_rig, {"AU25": 1.0}, 0.3))
    assert wide_mouth.own_aus["AU12L"] == 0.0 and wide_mouth.own_aus["AU12R"] == 0.0
    assert _mouth_width(wide_mouth.model.neutral) == pytest.approx(_mouth_width(wide_mouth.model_raw.neutral), abs=0.01)


def test_a_wide_open_mouth_is_not_read_as_a_smile(canon_rig):
    """A photo with the jaw wide open (AU25 + AU27, no smile): its own AUs carry the opening, with
    no AU12 (0.46 read before AU27 was an own AU: its neutral face lost a smile it never had) and
    the neutralised mouth is the resting one."""
    from thinkdraw.face import mesh as M

    wide = Rig.from_landmarks(canon_rig.forward({"AU25": 1.0, "AU27": 1.0})[0])
    assert wide.own_aus["AU12L"] == 0.0 and wide.own_aus["AU12R"] == 0.0
    assert wide.own_aus["AU27"] > 0.2
    ids = sorted(set(M.LIPS_INNER_UPPER) | set(M.LIPS_INNER_LOWER) | {0, 17, 61, 152, 291})
    err = wide.model.neutral[ids, :2] - canonical_neutral()[ids, :2]
    assert np.sqrt((err ** 2).sum(1).mean()) < 0.03  # 0.160 IOD rms before


def test_very_happy_parts_the_lips_like_a_photographed_broad_smile(canon_rig):
    """THINK's "very happy" through the rig opens the mouth as far as the registry photos' open smiles
    (inner-lip gap 0.11-0.30 IOD, 10th-90th percentile, `bench/faces.py --only width`), which the
    rig's AU25 alone cannot (0.11 at most): with AU12 the upper lip lifts; a slight smile keeps the
    lips together."""
    from thinkdraw.think import plan_emotion

    def gap(params: dict[str, float]) -> float:  # inner lips, IOD (image y down)
        lm = canon_rig.forward(params)[0]
        return float(lm[14, 1] - lm[13, 1]) / canon_rig.s0

    assert gap({"AU25": 1.0}) < 0.13
    assert 0.14 <= gap(plan_emotion("very happy").rig_params()) <= 0.26
    assert gap(plan_emotion("slightly happy").rig_params()) < 0.03


def test_neutral_face_has_no_own_aus(canon_rig):
    assert all(v == 0.0 for v in canon_rig.own_aus.values())
    assert all(v == 0.0 for v in Rig.from_landmarks(canon_rig.forward({})[0]).own_aus.values())


def test_real_portraits_own_aus(astro_rig, grace_portrait):
    # the astronaut smiles with parted lips; Grace Hopper's mouth is at rest
    assert astro_rig.own_aus["AU12L"] > 0.5 and astro_rig.own_aus["AU12R"] > 0.5
    assert astro_rig.own_aus["AU25"] > 0.5
    g = Rig(grace_portrait).own_aus
    assert max(g.values()) < 0.3
    assert set(estimate_own_aus(astro_rig.model_raw.neutral, astro_rig.model_raw)) == set(astro_rig.own_aus)


def _lip_thickness(lm: np.ndarray, iod: float) -> tuple[float, float]:
    """Upper and lower red-lip heights (IOD) over the three central columns of MediaPipe's lips."""
    d = lambda a, b: float(np.linalg.norm(lm[a, :2] - lm[b, :2])) / iod  # noqa: E731
    return (np.mean([d(0, 13), d(37, 82), d(267, 312)]), np.mean([d(14, 17), d(87, 84), d(317, 314)]))


def test_smile_thins_the_lips_and_neutralising_restores_them(canon_rig, astro_rig):
    # photos (MediaPipe, 60 registry faces and the two bundled portraits; rig.yaml AU12): per unit
    # of own AU12 the upper lip's central columns are 0.035 IOD and the lower's 0.011 thinner;
    # resting faces' upper lip is 0.098 (sd 0.023) on this measure
    iod = canon_rig.s0
    up0, lo0 = _lip_thickness(canon_rig.forward({})[0], iod)
    up1, lo1 = _lip_thickness(canon_rig.forward({"AU12L": 1.0, "AU12R": 1.0})[0], iod)
    assert 0.025 < up0 - up1 < 0.05, (up0, up1)
    assert 0.005 < lo0 - lo1 < 0.02, (lo0, lo1)
    # the astronaut's toothy smile stretches her upper lip to 0.074 IOD; neutralised it is as full
    # as a face at rest
    iod = astro_rig.s0
    up_photo, _ = _lip_thickness(astro_rig.forward({}, relative=False)[0], iod)  # the photo's own face
    up_n, lo_n = _lip_thickness(astro_rig.forward({})[0], iod)
    assert up_photo < 0.08 and up_n > 0.085, (up_photo, up_n)
    assert lo_n > 0.11, lo_n


# Upper lip columns (inner lip -> outer contour) beside the corners, person's right and left.
OUTER_UPPER_COLUMNS = ((80, 40), (310, 270))


def test_smile_keeps_the_red_of_the_lip_beside_the_corners(canon_rig, grace_portrait):
    """Photos thin the upper lip in its middle, not beside the corners (rig.yaml AU12: +0.008 IOD
    per unit of own AU12 there, against -0.035 in the middle); a uniform thinning left grace_hopper's
    thin upper lip a 1 px line of speckles in a laugh."""
    for rig in (canon_rig, Rig(grace_portrait)):
        rest = rig.forward_canonical({})[0]
        smile = rig.forward_canonical({"AU12L": 1.0, "AU12R": 1.0, "AU25": 0.8, "AU26": 0.5})[0]
        for inner, outer in OUTER_UPPER_COLUMNS:
            h0, h1 = rest[outer, 1] - rest[inner, 1], smile[outer, 1] - smile[inner, 1]
            assert h1 > 0.8 * h0, (inner, outer, h0, h1)


# Skin triangles on the outer upper lip's contour, between the lip's middle and its corner, and the
# skin ring beside the lips (MediaPipe ids; both halves).
UPPER_LIP_SKIN_TRIANGLES = ((39, 40, 92), (39, 92, 165), (39, 165, 167), (40, 92, 186), (40, 185, 186),
                            (57, 61, 185), (57, 185, 186), (269, 270, 322), (269, 322, 391),
                            (269, 391, 393), (270, 322, 410), (270, 409, 410), (287, 291, 409), (287, 409, 410))


def _signed_area(x: np.ndarray, tri: tuple[int, int, int]) -> float:
    """Twice the signed area of one triangle of the (478, 2+) points ``x``."""
    return float(signed_area(x, np.array([tri]))[0])


@pytest.mark.parametrize("params", [
    {"AU6": 0.93, "AU7": 0.4, "AU12L": 1.0, "AU12R": 1.0, "AU25": 0.8, "AU26": 0.53},  # "laughing"
    {"AU12L": 1.0, "AU12R": 1.0, "AU25": 0.8, "AU26": 0.5},
    {"AU12L": 1.0, "AU25": 1.0},
])
def test_open_smile_lip_never_folds_over_the_skin_above(canon_rig, grace_portrait, params):
    """rig.yaml AU12+AU25: the skin beside the upper lip rises with it (photos: 0.085-0.125 IOD at
    the open smiles' mean). When only the lips rose, a laugh's upper lip passed over that skin and
    the warp folded there (lip red smeared above the lip on grace_hopper)."""
    for rig in (canon_rig, Rig(grace_portrait)):
        rest, moved = rig.forward_canonical({})[0], rig.forward_canonical(params)[0]
        for tri in UPPER_LIP_SKIN_TRIANGLES:
            a0, a1 = _signed_area(rest, tri), _signed_area(moved, tri)
            assert a1 * np.sign(a0) > 0.0, (tri, a0, a1)


PHILTRUM_TRIANGLES = ((0, 37, 164), (0, 164, 267), (37, 164, 167), (164, 267, 393), (37, 39, 167), (267, 269, 393),
                      (40, 92, 186), (270, 322, 410))


def test_a_raised_upper_lip_stays_below_the_nose(canon_rig, grace_portrait):
    """rig.clamp_shape (ABOVE_LIP_MIN_GAP): AU10 on a full open smile lifts the upper lip's middle
    0.26 IOD, more than the 0.16 of skin under the nose; the lip rose over the philtrum into the
    nose (grace_hopper: 400 px^2 of folded skin). It now shortens the philtrum instead."""
    from thinkdraw.face.rig import ABOVE_LIP_MIN_GAP

    canon = canonical_neutral()
    for rig in (canon_rig, Rig(grace_portrait)):
        rest = rig.forward_canonical({})[0]
        snarl = rig.forward_canonical({"AU10": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0})[0]
        assert snarl[0, 1] > rest[0, 1] + 0.05  # the lip still rises
        for tri in PHILTRUM_TRIANGLES:
            assert _signed_area(snarl, tri) * np.sign(_signed_area(rest, tri)) > 0.0, tri
        for upper, lower in ((2, 164), (164, 0), (97, 167), (167, 37), (206, 92), (92, 40)):
            gap = snarl[upper, 1] - snarl[lower, 1]
            assert gap >= ABOVE_LIP_MIN_GAP * (canon[upper, 1] - canon[lower, 1]) - 1e-9, (upper, lower, gap)


UNDER_LIP_TRIANGLES = ((43, 91, 106), (91, 106, 182), (273, 321, 335), (321, 335, 406))
"""Skin triangles under the lateral lower lip (MediaPipe ids), person's right then left."""


def test_skin_under_the_lower_lip_stays_below_it_beside_the_corners(canon_rig, grace_portrait):
    """rig.clamp_shape (_chin_columns): a smile's lift raises the skin under the lower lip's lateral
    end (106) more than the lip's border (91); on grace_hopper's thin lips 12+25 put 106 0.065 IOD
    above 91, a fold. Every skin neighbour within 45 degrees below a lip vertex now stays below it,
    and where two columns meet on one vertex the tighter bound holds."""
    from thinkdraw.face.rig import CHIN_MIN_GAP, clamp_shape

    for rig in (canon_rig, Rig(grace_portrait)):
        rest = rig.forward_canonical({})[0]
        for params in ({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0}, {"AU10": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0}):
            smile = rig.forward_canonical(params)[0]
            for tri in UNDER_LIP_TRIANGLES:
                assert _signed_area(smile, tri) * np.sign(_signed_area(rest, tri)) > 0.0, (params, tri)
    canon = canonical_neutral()
    x = canon.copy()
    x[91, 1] -= 0.3  # the lip's border pulled far down: 182 sits under 91 and under 181
    out = clamp_shape(x[None])[0]
    assert out[182, 1] <= out[91, 1] - CHIN_MIN_GAP * (canon[91, 1] - canon[182, 1]) + 1e-9
    assert out[106, 1] <= out[91, 1] - CHIN_MIN_GAP * (canon[91, 1] - canon[106, 1]) + 1e-9


# Outer upper lip from each corner toward the midline (MediaPipe ids), person's right then left.
UPPER_LIP_FROM_CORNERS = ((61, 185, 40, 39, 37), (291, 409, 270, 269, 267))
REST_LIP_FRACTIONS = np.array([0.916, 0.768, 0.577, 0.296])
"""Where 185, 40, 39 and 37 sit between the midline (0) and their corner (1) on 28 registry photos at
rest (own AU12 < 0.2; median, canonical frame). Smiling photos keep the same spacing (0.907, 0.766,
0.576, 0.301 on 23 with own AU12 > 0.5): a smile stretches the lip evenly, it does not pile it up."""


def _lip_fractions(lm: np.ndarray) -> np.ndarray:
    """(4,) lateral place of the outer upper lip's vertices between the midline and the corner."""
    x = lm[:, 0] - lm[0, 0]
    return np.mean([x[list(ids[1:])] / x[ids[0]] for ids in UPPER_LIP_FROM_CORNERS], axis=0)


def test_smile_stretches_the_lips_evenly(canon_rig, astro_rig, grace_portrait):
    # AU12 moves each lip-ring vertex sideways in proportion to its distance from the midline
    d = _iod_units(canon_rig, {"AU12L": 1.0, "AU12R": 1.0})
    c = canon_rig.forward({})[0]
    for ring in (mesh.LIPS_OUTER_UPPER, mesh.LIPS_INNER_UPPER, mesh.LIPS_INNER_LOWER, mesh.LIPS_OUTER_LOWER):
        ids = list(ring)
        f = (c[ids, 0] - c[0, 0]) / (c[ids[-1], 0] - c[0, 0])
        np.testing.assert_allclose(d[ids, 0] / d[ids[-1], 0], f, atol=0.03)
    # so a smile on an unsmiling face, and a toothy smile neutralised, keep the spacing of lips at
    # rest. Before, the corner moved alone: grace's smile pulled the lip out of place (39 at 0.52)
    # and the astronaut's neutral mouth piled it up at the corners (39 at 0.69), a box with
    # near-vertical ends when the corners then dropped
    grace = Rig(grace_portrait).forward({"AU12L": 1.0, "AU12R": 1.0})[0]
    for lm in (astro_rig.forward({})[0], grace):
        np.testing.assert_allclose(_lip_fractions(lm), REST_LIP_FRACTIONS, atol=0.04)


def test_one_sided_smile_pulls_the_whole_lip_its_way(canon_rig):
    d = _iod_units(canon_rig, {"AU12L": 1.0})
    right, left = UPPER_LIP_FROM_CORNERS
    # the pulled half lifts, the other half of the lip is drawn toward the smile, less further off
    assert d[left[0], 1] < -0.1 and abs(d[right[0], 1]) < 0.01  # image y down: up is negative
    shift = d[[*right, 0, *left[::-1]], 0]  # from the still corner to the pulled one
    assert np.all(np.diff(shift) * np.sign(shift[-1]) > 0), shift
    assert abs(shift[0]) < 0.01


def _upper_lip_thickness(lm: np.ndarray, outer: int) -> float:
    """Height (pixels) of the red of the upper lip under outer-border vertex ``outer``: the inner
    line interpolated at its x, minus its y (image y down)."""
    inner = list(mesh.LIPS_INNER_UPPER)
    x = lm[inner, 0]
    o = np.argsort(x)
    return float(np.interp(lm[outer, 0], x[o], lm[inner, 1][o]) - lm[outer, 1])


def test_dropped_corners_keep_the_upper_lip_tapered(canon_rig):
    # AU15 drops the corners; the outer upper lip beside them now follows the corner as the lip line
    # does. Before, it stayed up while the line went down: the red of the lip beside the corners grew
    # 0.058 IOD taller at 40 and 0.050 at 39, and a sad mouth got boxy, near-vertical ends. (It still
    # grows a little: a lip line sloping down is taller measured straight down.)
    c = canon_rig.forward({})[0]
    t = canon_rig.forward({"AU15": 1.0})[0]
    for outer, most in ((40, 0.035), (39, 0.025), (270, 0.035), (269, 0.025)):
        grown = (_upper_lip_thickness(t, outer) - _upper_lip_thickness(c, outer)) / canon_rig.s0
        assert grown < most, (outer, grown)


def test_inverse_noise_never_activates_antagonists(astro_rig):
    rng = np.random.default_rng(5)
    clean = astro_rig.forward(np.repeat(astro_rig.params_matrix({"AU4": 0.8, "AU7": 0.5}), 20, axis=0))
    noisy = clean + rng.normal(0.0, 0.012 * astro_rig.s0, clean.shape)  # ~MediaPipe jitter
    est = astro_rig.inverse(noisy)
    for a, b in rig_spec()["exclusive"]:
        assert (np.minimum(est[:, IDX[a]], est[:, IDX[b]]) <= 0.06).all(), (a, b)
    assert np.median(est[:, IDX["AU4"]]) == pytest.approx(0.8, abs=0.1)
    # the same with a sparsity prior: fewer spurious AUs, the intended ones kept
    sparse = astro_rig.inverse(noisy, sparsity=0.05)
    spurious = lambda e: np.delete(e[:, :N_AU], [IDX["AU4"], IDX["AU7"]], axis=1).sum(1).mean()  # noqa: E731
    assert spurious(sparse) < spurious(est)
    assert np.median(sparse[:, IDX["AU4"]]) > 0.6


def test_eye_closure_helper(canon_rig):
    c = canon_rig.eye_closure(np.stack([canon_rig.params_matrix(d)[0] for d in (
        {}, {"AU43": 1.0}, {"AU45L": 0.5}, {"AU43": 0.7, "AU45R": 0.7})]))
    assert c.shape == (4, 2)
    assert np.allclose(c, [[0, 0], [1, 1], [0.5, 0], [0.7, 1.0]])


def test_rig_on_a_turned_face_keeps_identity_and_pose(canon_rig):
    turned = canon_rig.forward({"yaw": 25.0, "pitch": -10.0, "roll": 8.0, "AU4": 0.5})[0]
    rig = Rig.from_landmarks(turned, neutralise=False)
    assert rig.euler0 == pytest.approx([25.0, -10.0, 8.0], abs=1.5)
    assert np.abs(rig.forward({}, relative=False)[0] - turned).max() < 1e-3
    est = rig.inverse(rig.forward({"AU12L": 0.6, "yaw": -10.0}))[0]
    assert est[IDX["AU12L"]] == pytest.approx(0.6, abs=0.05)
    assert est[IDX["yaw"]] == pytest.approx(-10.0, abs=1.0)
    with pytest.raises(InputError, match=r"\(478, 3\)"):
        Rig.from_landmarks(turned[:, :2])


def test_forward_clips_and_rejects_nan(canon_rig):
    assert np.allclose(canon_rig.forward({"AU12L": 3.0}), canon_rig.forward({"AU12L": 1.0}))
    assert np.allclose(canon_rig.forward({"AU4": -1.0}), canon_rig.forward({}))
    bad = np.zeros(len(CH))
    bad[IDX["AU4"]] = np.nan
    with pytest.raises(InputError, match="finite"):
        canon_rig.forward(bad)


@pytest.mark.parametrize("params", [{"AU25": 1.0}, {"AU25": 1.0, "AU26": 1.0}, {"AU27": 1.0, "AU25": 1.0},
                                    {"AU16": 1.0, "AU25": 1.0, "AU26": 1.0}])
def test_lower_lip_never_folds_over_the_chin(grace_portrait, params):
    """An open mouth pulls the lower lip down; the skin under it is compressed, never folded over
    it (on this thin-lipped portrait the lip used to cross the row below: a hard seam in renders)."""
    from thinkdraw.face.canonical import canonical_neutral

    rig = Rig(grace_portrait)
    x = rig.forward(params)[0][:, :2]
    canon = canonical_neutral()[:, :2] * np.array([1.0, -1.0])  # pixel orientation (y down)

    chin_tris = np.array([(17, 18, 83), (17, 18, 313), (17, 83, 84), (17, 313, 314), (84, 83, 181), (314, 313, 405)])
    assert np.all(np.sign(signed_area(x, chin_tris)) == np.sign(signed_area(canon, chin_tris)))
    for lip, skin in ((17, 18), (84, 83), (314, 313), (18, 200)):
        assert x[skin, 1] > x[lip, 1]  # y down: the skin row stays below the lip


@pytest.mark.parametrize("params", [{"AU24": 1.0}, {"AU28": 1.0}, {"AU23": 1.0, "AU24": 1.0}, {"AU17": 1.0, "AU24": 1.0}])
def test_pressed_lips_thin_but_never_fold(grace_portrait, params):
    """Pressing (AU24) or sucking in (AU28) the lips thins their red; no ring of the lip may pass
    the ring inside it (it used to: a stepped dark seam along the mouth)."""
    from thinkdraw.face.rig import LOWER_LIP_COLUMNS, UPPER_LIP_COLUMNS

    x = Rig(grace_portrait).forward(params)[0]  # pixels, y down
    for col in UPPER_LIP_COLUMNS:
        assert np.all(np.diff(x[list(col), 1]) < 0), col  # each ring above the one inside it
    for col in LOWER_LIP_COLUMNS:
        assert np.all(np.diff(x[list(col), 1]) > 0), col
    rest = Rig(grace_portrait).forward({})[0]
    thick = lambda p: p[17, 1] - p[14, 1] + p[13, 1] - p[0, 1]  # noqa: E731  (lower + upper red, midline)
    assert thick(x) < 0.9 * thick(rest)  # the red did thin


def test_jaw_codes_are_alternatives_not_summed(canon_rig, astro_rig):
    """AU26 and AU27 are two amounts of one jaw motion (FACS scores one): given both, the jaw
    opens by the larger, never by their sum (summed, 1.0 + 0.8 rotated it 29 degrees)."""
    chin = lambda p: _iod_units(canon_rig, p)[152, 1]  # noqa: E731  (pixels: y down, a drop > 0)
    assert chin({"AU26": 1.0, "AU27": 0.8}) == pytest.approx(chin({"AU27": 0.8}), abs=1e-9)
    both = chin({"AU26": 1.0, "AU27": 0.3})  # AU26's 13 deg exceed AU27's 6: about AU26's drop
    assert both == pytest.approx(chin({"AU26": 1.0}), rel=0.1)
    assert both < chin({"AU26": 1.0}) + chin({"AU27": 0.3}) - 0.05
    np.testing.assert_allclose(_iod_units(canon_rig, {"AU26": 0.7}),  # one code alone: unchanged
                               0.7 * _iod_units(canon_rig, {"AU26": 1.0}), atol=0.02)
    for p in ({"AU26": 0.9}, {"AU27": 0.9}):  # and the inverse reads one code
        est = astro_rig.inverse(astro_rig.forward(p))[0]
        au = next(iter(p))
        assert est[IDX[au]] == pytest.approx(0.9, abs=0.05)
        assert est[IDX["AU27" if au == "AU26" else "AU26"]] < 0.05


def test_smooth_skin_carries_a_lip_value_a_few_rows_into_the_skin_only():
    """rig.smooth_skin: the lips, eyes, nose and outline are held, zero stays zero, a value on the
    lower lip's border reaches the skin under it and fades row by row, and nothing beyond its reach
    (the brows, the forehead) changes."""
    from thinkdraw.face.rig import smooth_skin

    assert np.abs(smooth_skin(np.zeros(mesh.N_LANDMARKS))).max() == 0.0
    w = np.zeros(mesh.N_LANDMARKS)
    w[list(mesh.LIPS_OUTER_LOWER[1:-1])] = 1.0
    out = smooth_skin(w)
    held = list(mesh.LIPS_OUTER) + list(mesh.LIPS_INNER) + list(mesh.LEFT_EYE) + list(mesh.NOSE_HULL)
    np.testing.assert_array_equal(out[held], w[held])
    rows = [(18, 83, 313), (200, 201, 421), (199, 208, 428)]  # down the chin from the lip's middle (17)
    means = [out[list(r)].mean() for r in rows]
    assert means[0] > 0.15 and means[0] > means[1] > means[2] >= 0.0
    assert out[list(BROWS)].max() == 0.0 and out[10] == 0.0  # forehead
    assert out.max() <= 1.0


def test_the_skin_under_the_lower_lip_moves_with_it(canon_rig):
    """rig.yaml skin_smoothing: a lip ring weighted by its own profile (the smile's even stretch, the
    jaw's oval) used to move apart from the skin next to it, which kept each component's Gaussian:
    taking a broad open smile off a photo then sheared the skin under the lower lip into hard,
    trapezoid sides down from the corners (single_face_0). Its most anisotropic skin triangle
    there (largest over smallest stretch of the triangle's map) was 14.9; now it is 8.3."""
    from matplotlib.path import Path

    rest = canon_rig.forward_canonical({})[0][:, :2]
    smile = canon_rig.forward_canonical({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0, "AU26": 0.3})[0][:, :2]
    lips = Path(rest[list(mesh.LIPS_OUTER)]).contains_points(rest) | np.isin(np.arange(len(rest)), mesh.LIPS_OUTER)
    border = set(mesh.LIPS_OUTER_LOWER)
    band = np.array([t for t in mesh.triangles() if border & set(t) and not lips[list(t)].all()])
    _, aff, ok = affine_maps(smile, rest, band)  # smile -> rest: the same stretch ratios, inverted
    assert ok.all()
    sv = np.linalg.svd(aff[:, :, :2], compute_uv=False)
    assert len(band) > 15
    assert (sv[:, 0] / sv[:, 1]).max() < 11.0
