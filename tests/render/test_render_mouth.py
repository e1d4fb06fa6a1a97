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
