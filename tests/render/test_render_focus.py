"""The photo's focus: measured at its edges, and the drawn parts blurred to match it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from thinkdraw.render import focus as FO
from thinkdraw.render import mouth as MO


def _disc(sigma: float) -> np.ndarray:
    """(400, 400, 3) uint8: a grey disc on a darker ground, its edge blurred by ``sigma`` pixels."""
    yy, xx = np.mgrid[:400, :400]
    img = np.where(np.hypot(xx - 200.0, yy - 200.0) < 100.0, 210.0, 50.0).astype(np.float32)
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    return np.dstack([np.round(img).astype(np.uint8)] * 3)


def _spread_landmarks() -> np.ndarray:
    """(478, 2) points whose every group's box (eyes, brows, lips) covers the disc's edge."""
    lm = np.empty((478, 2))
    lm[::2], lm[1::2] = 60.0, 340.0  # each group holds odd and even ids: its box spans both corners
    return lm


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_a_step_edge_blurred_by_sigma_reads_sigma(sigma: float) -> None:
    """Zhuo & Sim's ratio: the reading is the edge's blur, with the estimator's own ~0.74 px (the
    Sobel's smoothing and the pixel grid) added in quadrature."""
    read = FO.photo_blur(_disc(sigma), _spread_landmarks(), 100.0)
    assert read == pytest.approx(np.hypot(sigma, 0.74), abs=0.25)


def test_a_sharp_edge_reads_as_sharp_as_the_drawn_parts_and_a_flat_image_gives_no_estimate() -> None:
    assert FO.photo_blur(_disc(0.0), _spread_landmarks(), 100.0) <= FO.RESAMPLE_SIGMA
    flat = np.full((400, 400, 3), 128, np.uint8)
    assert FO.photo_blur(flat, _spread_landmarks(), 100.0) == FO.RESAMPLE_SIGMA
    assert FO.added_blur(FO.RESAMPLE_SIGMA) == 0.0
    assert FO.added_blur(0.3) == 0.0


def test_added_blur_is_the_photos_beyond_the_drawn_edges_in_the_target_frame() -> None:
    assert FO.added_blur(2.0) == pytest.approx(np.sqrt(4.0 - FO.RESAMPLE_SIGMA**2))
    assert FO.added_blur(2.0, scale=1.5) == pytest.approx(np.sqrt(9.0 - FO.RESAMPLE_SIGMA**2))  # a face drawn larger


def test_real_photos_read_sharper_than_their_blurred_copies(astronaut) -> None:
    img, portrait = astronaut
    lm = portrait.landmarks
    ipd = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
    reads = [FO.photo_blur(cv2.GaussianBlur(img, (0, 0), s) if s else img, lm, ipd) for s in (0, 1, 2, 3)]
    assert reads[0] < 1.0  # skimage's astronaut is sharp
    assert reads[0] < reads[1] < reads[2] < reads[3]
    assert 1.4 < reads[2] < 2.4


def test_composite_without_blur_is_the_plain_over_and_with_blur_spreads_the_layer_evenly() -> None:
    ground = np.full((60, 60, 3), 100, np.uint8)
    ys, xs = (g.ravel() for g in np.mgrid[20:40, 20:40])
    colour = np.full((len(ys), 3), 200.0, np.float32)
    alpha = np.full(len(ys), 0.5, np.float32)
    sharp = ground.copy()
    FO.composite(sharp, ys, xs, colour, alpha, 0.2)
    assert np.all(sharp[20:40, 20:40] == 150) and np.all(sharp[:20] == 100) and np.all(sharp[40:] == 100)
    soft = ground.copy()
    FO.composite(soft, ys, xs, colour, alpha, 2.0)
    assert np.all(soft[27:33, 27:33] == 150)  # well inside: the layer as it was
    assert 100 < soft[30, 18, 0] < 150 and 100 < soft[30, 41, 0] < 150  # its edge spreads out...
    assert 100 < soft[30, 21, 0] < 150  # ...and in
    assert np.all(soft[:13] == 100) and np.all(soft[:, 47:] == 100)  # nothing beyond ~3 sigma
    # as much paint as before (premultiplied colour and coverage blurred together)
    assert float(soft.astype(np.float64).sum() - ground.sum()) == pytest.approx(float(sharp.astype(np.float64).sum() - ground.sum()), rel=0.01)


def test_the_relit_corners_and_the_lip_line_soften_with_blur() -> None:
    t = np.linspace(0.0, np.pi, 11)
    x = 128.0 - 60.0 * np.cos(t)
    upper, lower = np.stack([x, 128.0 - 14.0 * np.sin(t)], 1), np.stack([x, 128.0 + 14.0 * np.sin(t)], 1)
    flat = np.full((256, 256, 3), 200, np.uint8)
    hard, soft = flat.copy(), flat.copy()
    MO.corridor_relight(hard, upper, lower, 0.6)
    MO.corridor_relight(soft, upper, lower, 0.6, blur=2.0)
    assert np.array_equal(hard[128, 55:67], flat[128, 55:67])  # sharp: nothing outside the ring
    assert soft[128, 66, 0] < 199  # blurred: the corner's shadow reaches past it, as the photo's would
    assert soft[128, 70, 0] > hard[128, 70, 0]  # and is lighter just inside
    closed = np.stack([x, np.full(11, 128.0)], 1)
    lip = np.array([180.0, 100.0, 100.0])
    line_hard, line_soft = flat.copy(), flat.copy()
    MO.draw_lip_contact(line_hard, closed, closed.copy(), lip, ipd=150.0, strength=1.0)
    MO.draw_lip_contact(line_soft, closed, closed.copy(), lip, ipd=150.0, strength=1.0, blur=2.0)
    col_hard, col_soft = line_hard[:, 128, 1].astype(int), line_soft[:, 128, 1].astype(int)
    assert col_soft.min() > col_hard.min() + 20  # fainter at its middle...
    assert (col_soft < 195).sum() > (col_hard < 195).sum() + 4  # ...and wider
    assert abs(int((200 - col_soft).sum()) - int((200 - col_hard).sum())) < 0.05 * int((200 - col_hard).sum())


def _edge_gradient(frame: np.ndarray, ring: np.ndarray) -> float:
    """Steepest luma gradient (levels per pixel, 98th percentile) in the box round ``ring`` (n, 2)."""
    x0, y0 = np.floor(ring.min(0)).astype(int) - 4
    x1, y1 = np.ceil(ring.max(0)).astype(int) + 5
    grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.percentile(np.hypot(*np.gradient(grey)), 98))


@pytest.fixture(scope="module")
def soft_and_crisp(astronaut):
    """The astronaut blurred by sigma 2.5: (rig, Renderer matching its focus, Renderer drawing crisp)."""
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    soft_img = cv2.GaussianBlur(img, (0, 0), 2.5)
    rig = Rig(portrait)
    return rig, Renderer(soft_img, portrait, rig=rig), Renderer(soft_img, portrait, RenderConfig(match_focus=False), rig=rig)


def test_a_sharp_photo_is_rendered_as_before(astronaut) -> None:
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import parse_au_overrides
    from thinkdraw.render.warp import Renderer, RenderConfig

    img, portrait = astronaut
    rig = Rig(portrait)
    sharp, crisp = Renderer(img, portrait, rig=rig), Renderer(img, portrait, RenderConfig(match_focus=False), rig=rig)
    assert sharp.photo_blur <= FO.RESAMPLE_SIGMA
    for aus in (["AU25=1", "AU26=1"], ["AU45=1"]):
        target = rig.forward(parse_au_overrides(aus))[0]
        assert np.array_equal(sharp.render(target), crisp.render(target))


@pytest.mark.parametrize("aus", [["AU25=1", "AU26=1"], ["AU45=1"]], ids=["open mouth", "blink"])
def test_a_soft_photo_gets_a_soft_mouth_interior_and_soft_closing_lids(soft_and_crisp, aus) -> None:
    from thinkdraw.face import mesh as M
    from thinkdraw.render.cli import parse_au_overrides

    rig, soft, crisp = soft_and_crisp
    assert soft.photo_blur > 1.6
    target = rig.forward(parse_au_overrides(aus))[0]
    ring = target[list(M.LIPS_INNER if "AU25=1" in aus else M.RIGHT_EYE), :2]
    g_soft, g_crisp = _edge_gradient(soft.render(target), ring), _edge_gradient(crisp.render(target), ring)
    assert g_soft < 0.75 * g_crisp
