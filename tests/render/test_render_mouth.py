"""Procedural mouth interior: light falls off toward the corners, the tongue hides behind the teeth."""

from __future__ import annotations

import numpy as np

from thinkdraw.render import mouth as MO
from thinkdraw.render.geometry import Similarity

_IPD = 150.0  # pixels; the synthetic mouth below is 0.8 IPD wide
_C = np.array([128.0, 128.0])  # resting lips' contact point at the mouth's centre


def _lips(up: float, down: float) -> tuple[np.ndarray, np.ndarray]:
    """(11, 2) inner upper / lower chains, corner to corner: half-ellipses ``up`` / ``down`` px tall."""
    t = np.linspace(0.0, np.pi, 11)
    x = _C[0] - 60.0 * np.cos(t)
    return np.stack([x, _C[1] - up * np.sin(t)], 1), np.stack([x, _C[1] + down * np.sin(t)], 1)


def _render(up: float, down: float, jaw_ipd: float) -> np.ndarray:
    skin, lip, sclera = np.array([200.0, 160.0, 140.0]), np.array([190.0, 110.0, 110.0]), np.array([235.0, 232.0, 228.0])
    style = MO.make_style(skin, lip, sclera)
    out = np.full((256, 256, 3), 128, np.uint8)
    upper, lower = _lips(up, down)
    MO.render_mouth(out, upper, lower, Similarity.identity(), _C, np.array([0.0, jaw_ipd * _IPD]), _IPD, style, 1.0)
    return out


def _lum(px: np.ndarray) -> np.ndarray:
    return px.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def test_lateral_teeth_are_darker_than_the_central_incisors() -> None:
    out = _render(14.0, 40.0, 0.3)
    row = _lum(out[int(_C[1]) - 2])  # through the upper teeth, just above their incisal edge
    centre = row[118:139].mean()
    lateral = np.concatenate([row[84:95], row[162:173]]).mean()  # 0.55-0.75 of the half-width
    cavity = _lum(out[int(_C[1]) + 12, 118:139]).mean()
    assert centre > 150  # bright enamel in front of the opening
    assert cavity + 20 < lateral < 0.75 * centre  # buccal corridor: still teeth, but in shadow
    assert np.array_equal(out, _render(14.0, 40.0, 0.3))  # deterministic


def test_tongue_hidden_when_slightly_open_and_shown_when_wide_open() -> None:
    def tongue_fraction(out: np.ndarray) -> float:
        inside = out[np.any(out != 128, axis=2)].astype(np.float64)  # the painted interior
        r, g, b = inside.T
        return float(((r > 90) & (r > g + 30) & (r > b + 30)).mean())  # pink, not enamel or cavity

    assert tongue_fraction(_render(8.0, 30.0, 0.1)) < 0.005  # speech-like opening: behind the teeth
    assert tongue_fraction(_render(14.0, 80.0, 0.55)) > 0.03  # wide open: the dorsum shows


def _big(up: float, down: float, jaw_ipd: float) -> tuple[np.ndarray, float, float, float]:
    """A 300 px-IPD mouth (teeth ~40 px wide): the image and the pixel columns at the midline
    contact, the centre of a central incisor and the centre of a lateral incisor (IPD 300)."""
    ipd, c = 300.0, np.array([256.0, 230.0])
    style = MO.make_style(np.array([200.0, 160.0, 140.0]), np.array([190.0, 110.0, 110.0]), np.array([235.0, 232.0, 228.0]))
    t = np.linspace(0.0, np.pi, 11)
    x = c[0] - 140.0 * np.cos(t)
    upper, lower = np.stack([x, c[1] - up * np.sin(t)], 1), np.stack([x, c[1] + down * np.sin(t)], 1)
    out = np.full((420, 512, 3), 128, np.uint8)
    MO.render_mouth(out, upper, lower, Similarity.identity(), c, np.array([0.0, jaw_ipd * ipd]), ipd, style, 1.0)
    # arch positions (IPD): central incisor centre s = 0.0675, lateral s = 0.1865 on a 0.42 radius arch
    lateral = 0.42 * np.sin(0.1865 / 0.42)
    return out, c[0] + 1.0, c[0] + 0.0675 * ipd, c[0] + lateral * ipd


def _enamel_rows(column: np.ndarray) -> np.ndarray:
    """Row indices of bright, unsaturated (enamel) pixels in a (H, 3) column."""
    r, g, b = column.astype(np.float64).T
    return np.flatnonzero((_lum(column) > 150) & (r - b < 60))


def test_gum_papilla_fills_the_embrasure_between_the_incisors() -> None:
    # upper lip raised (AU10-like): gum above the crowns; the margin arches over each crown and
    # comes down to a point between them, so enamel starts lower at the contact than mid-crown
    out, contact, central, _ = _big(60.0, 30.0, 0.0)
    top_contact = _enamel_rows(out[:250, int(contact)])[0]
    top_central = _enamel_rows(out[:250, int(central)])[0]
    assert top_contact >= top_central + 6
    gum = out[top_contact - 3, int(contact)].astype(int)
    assert gum[0] > gum[1] + 40  # pink gum, not a dark embrasure, above the contact


def test_lateral_incisors_are_shorter_than_the_centrals() -> None:
    # wide open jaw: the upper row's incisal edge stands against the dark cavity
    out, _, central, lateral = _big(40.0, 110.0, 0.4)
    edge_central = _enamel_rows(out[:300, int(central)])[-1]
    edge_lateral = _enamel_rows(out[:300, int(lateral)])[-1]
    # ~1 mm (0.014 IPD = 4 px) beyond what the smile arc alone lifts them (~2 px)
    assert edge_central >= edge_lateral + 5


def test_a_lower_lip_pulled_down_bares_the_lower_teeth_where_the_jaw_holds_them() -> None:
    """AU16 without a jaw drop: the lower row stays in occlusion behind the upper one (overlapping by
    MouthStyle.overbite), whatever the lip does: no dark band between the rows. Following the lip,
    it dropped 43 px here under a 33 px band of cavity; on grace_hopper it left a dashed dark sliver
    under the shorter lateral incisors and canines. A dropped jaw parts the rows."""
    def dark_rows(jaw_ipd: float) -> int:
        out, _, central, _ = _big(3.0, 70.0, jaw_ipd)  # upper lip at the contact, lower lip 70 px down
        col = out[:, int(central)]
        rows = _enamel_rows(col)
        assert len(rows) > 15  # both rows show
        return int((_lum(col[rows[0]:rows[-1] + 1]) < 60).sum())  # cavity between the rows

    assert dark_rows(0.0) == 0
    assert dark_rows(0.3) > 40


def test_lip_contact_line_fades_toward_the_corners() -> None:
    """The stomion line is darkest mid-mouth and thins and fades out toward each corner; lips
    parted by more than 3 px draw none."""
    from thinkdraw.render.mouth import LIP_CONTACT_TAPER, draw_lip_contact

    xs = np.linspace(20.0, 180.0, 11)
    upper = np.stack([xs, np.full(11, 50.0)], 1)
    lip = np.array([180.0, 90.0, 90.0])
    out = np.full((100, 200, 3), 200, np.uint8)
    draw_lip_contact(out, upper, upper.copy(), lip, ipd=200.0, strength=1.0)
    dark = 200.0 - out[:, :, 1].astype(float)  # green drops most under the reddish shade
    col_depth = dark.max(0)
    col_width = (dark > 5).sum(0)
    mid = 100
    assert col_depth[mid] > 60
    near = int(round(20 + 0.03 * 160))  # 3 % of the mouth from the corner, inside the taper
    assert col_depth[near] < 0.2 * col_depth[mid]
    assert col_depth[:20].max() == 0 and col_depth[181:].max() == 0  # nothing past the corners
    edge = int(round(20 + 0.5 * LIP_CONTACT_TAPER * 160))  # halfway into the taper
    assert col_depth[near] < col_depth[edge] < col_depth[mid] and col_width[edge] <= col_width[mid]
    parted = np.full((100, 200, 3), 200, np.uint8)
    draw_lip_contact(parted, upper, upper + [0.0, 4.0], lip, ipd=200.0, strength=1.0)
    assert np.all(parted == 200)


def _wide(sin_yaw: float, half_width: float = 90.0) -> np.ndarray:
    """A mouth wider than the dental arch (IPD 150: the arch's silhouette lies 0.41 IPD = 62 px
    from the midline, the corners ``half_width`` px), lips parted 30 px above and below."""
    style = MO.make_style(np.array([200.0, 160.0, 140.0]), np.array([190.0, 110.0, 110.0]), np.array([235.0, 232.0, 228.0]))
    t = np.linspace(0.0, np.pi, 11)
    x = _C[0] - half_width * np.cos(t)
    upper, lower = np.stack([x, _C[1] - 30.0 * np.sin(t)], 1), np.stack([x, _C[1] + 30.0 * np.sin(t)], 1)
    out = np.zeros((256, 256, 3), np.uint8)
    MO.render_mouth(out, upper, lower, Similarity.identity(), _C, np.zeros(2), _IPD, style, 1.0, sin_yaw)
    return out


def _upper_row(out: np.ndarray) -> np.ndarray:
    """Luma along a row through the upper crowns (8 px above the contact line)."""
    return _lum(out[int(_C[1]) - 8])


def test_upper_teeth_recede_into_the_corridor_at_the_end_of_the_arch() -> None:
    """Where the mouth is wider than the arch, the last teeth darken as the arch turns away and fade
    out over a few pixels at its silhouette: no bright tooth standing on a vertical edge."""
    row = _upper_row(_wide(0.0))
    right = row[int(_C[0]):]
    cavity = right[80:88].mean()  # the corridor beyond the arch, inside the corner
    assert right[:10].mean() > 150 and cavity < 60
    assert right[45:52].mean() < 0.75 * right[:10].mean()  # 0.3 IPD out: darker than the incisors
    assert np.abs(np.diff(right[40:80])).max() < 0.3 * (right[:10].mean() - cavity)  # no hard edge


def test_the_arch_turns_with_the_head() -> None:
    """Under yaw the half of the arch turned toward the camera shows more teeth, the other fewer
    (sin 0.3: silhouettes at 0.41 * 1.3 and 0.41 * 0.7 IPD from the midline); frontal is symmetric."""
    def extent(row: np.ndarray) -> tuple[int, int]:  # teeth columns left and right of the midline
        lit = np.flatnonzero(row > 100) - int(_C[0])
        return int(-lit.min()), int(lit.max())

    left, right = extent(_upper_row(_wide(0.0)))
    assert abs(left - right) <= 2
    left, right = extent(_upper_row(_wide(0.3)))  # image-right half turned away
    assert left > right + 15
    left, right = extent(_upper_row(_wide(-0.3)))
    assert right > left + 15


def test_teeth_are_never_darker_than_the_photos_own() -> None:
    """The whites of shaded eyes gave a dark face grey teeth beside its own bright ones: the teeth
    take the luma of the photo's own when it shows them."""
    skin, lip, shade = np.array([60.0, 42.0, 36.0]), np.array([90.0, 50.0, 50.0]), np.array([70.0, 62.0, 60.0])
    dim = MO.make_style(skin, lip, shade)
    own = MO.make_style(skin, lip, shade, own_teeth=np.array([185.0, 179.0, 172.0]))
    assert float(dim.teeth @ MO.LUMA) < 100
    assert abs(float(own.teeth @ MO.LUMA) - 180.0) < 1.0
    bright = MO.make_style(np.array([200.0, 160.0, 140.0]), lip, np.array([235.0, 232.0, 228.0]), own_teeth=np.full(3, 150.0))
    assert float(bright.teeth @ MO.LUMA) > 200  # photos' teeth sit in the mouth's shadow: never darkened


def test_teeth_take_the_hue_of_the_photos_own_when_they_are_less_tinted() -> None:
    """A ruddy face's skin cast gave tan teeth beside its own white ones (bald_guys_8): the teeth
    take the photo's own hue when it is the less saturated; lips blurred into a small opening's
    teeth (pink) do not tint them."""
    ruddy, lip, sclera = np.array([205.0, 140.0, 115.0]), np.array([190.0, 100.0, 100.0]), np.array([230.0, 215.0, 205.0])

    def sat(c: np.ndarray) -> float:
        return float((c.max() - c.min()) / c.max())

    cast = MO.make_style(ruddy, lip, sclera).teeth
    white = MO.make_style(ruddy, lip, sclera, own_teeth=np.array([214.0, 212.0, 205.0])).teeth
    pink = MO.make_style(ruddy, lip, sclera, own_teeth=np.array([225.0, 170.0, 175.0])).teeth
    assert sat(cast) > 0.2
    assert sat(white) < 0.06 and white[2] < white[0]  # the photo's own slightly warm white
    assert abs(float(white @ MO.LUMA) - float(cast @ MO.LUMA)) < 1.0  # hue only: the luma rule holds
    np.testing.assert_allclose(pink, cast)


def test_a_dark_photo_keeps_the_brightness_of_its_own_teeth(astronaut):
    """The astronaut darkened to a third everywhere but between her lips (a dark face with shaded
    eyes, her bright teeth as photographed): the drawn teeth take her own teeth's luma, not a third
    of her sclera's."""
    from thinkdraw.face import mesh as M
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    lm = portrait.landmarks[:, :2]
    ring = np.concatenate([lm[list(M.LIPS_INNER_UPPER)], lm[list(M.LIPS_INNER_LOWER)][::-1]])
    import cv2

    mouth = cv2.fillPoly(np.zeros(img.shape[:2], np.uint8), [np.round(ring).astype(np.int32)], 1).astype(bool)
    dark = (img * 0.33).astype(np.uint8)
    dark[mouth] = img[mouth]
    teeth_own = np.percentile(_lum(img[mouth]), 90)
    style = Renderer(dark, portrait).mouth_style
    assert teeth_own > 200
    assert float(style.teeth @ MO.LUMA) > 0.9 * teeth_own  # sclera and skin alone: under 100


def test_teeth_shown_in_a_narrower_mouth_darken_toward_its_corners_only() -> None:
    """corridor_relight: the photo's teeth from the middle ``crop`` of its opening, shown in the
    whole of a narrower one, get the corridor's light of where they now are over the light they had:
    unchanged in the middle, darker toward the corners, nothing outside the inner lips, none at crop 1."""
    upper, lower = _lips(14.0, 14.0)
    flat = np.full((256, 256, 3), 200, np.uint8)
    same = flat.copy()
    MO.corridor_relight(same, upper, lower, 1.0)
    assert np.array_equal(same, flat)
    out = flat.copy()
    MO.corridor_relight(out, upper, lower, 0.6)
    row = _lum(out[int(_C[1])])
    mid = int(_C[0])
    assert abs(row[mid] - 200) <= 1
    assert row[mid + 50] < row[mid + 30] < row[mid + 10] <= 200.5  # darker toward the corner
    assert row[mid + 55] < 0.5 * 200 and row[mid - 55] < 0.5 * 200
    outside = np.ones(flat.shape[:2], bool)
    outside[int(_C[1]) - 16 : int(_C[1]) + 17, int(_C[0]) - 62 : int(_C[0]) + 63] = False
    assert np.array_equal(out[outside], flat[outside])
    deeper = flat.copy()
    MO.corridor_relight(deeper, upper, lower, 0.3)  # a narrower crop: more of the corridor's light is lost
    assert _lum(deeper[int(_C[1])])[mid + 50] < row[mid + 50]
