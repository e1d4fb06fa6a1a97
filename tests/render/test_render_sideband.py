"""The side band next to the face outline, refilled where a head turn stretches it (sideband.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from thinkdraw.eval.streaks import band_mask, streakiness
from thinkdraw.face import mesh as M
from thinkdraw.render import sideband as SB
from thinkdraw.render.warp import Renderer, RenderConfig


@pytest.fixture(scope="module")
def grace_pair(grace):
    """grace_hopper's renderers with and without the fill, and her rig."""
    img, portrait, rig = grace
    return Renderer(img, portrait), Renderer(img, portrait, RenderConfig(side_fill=False)), rig


def _near_band_mask(r: Renderer, dst: np.ndarray, right: bool) -> np.ndarray:
    return band_mask(r.landmarks, dst, r.ipd, right, (r.H, r.W))


def test_valley_depth_is_zero_on_an_edge_and_the_height_of_a_ridge():
    x = np.linspace(0, 1, 21)
    edge = 200 * x  # skin fading into hair: monotone
    line = 100 + 60 * np.exp(-((x - 0.5) / 0.08) ** 2)  # a bright crease on flat skin
    dark = 150 - 40 * np.exp(-((x - 0.3) / 0.08) ** 2) + 30 * x  # a dark line on a ramp
    d = SB.valley_depth(np.stack([edge, line, dark]))
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    assert d[1] == pytest.approx(60.0, abs=3.0)
    assert 25.0 < d[2] < 40.0  # below the lower of its sides (150 at the left), not the ramp's top


def test_mesh_rings_count_edges_from_the_face_outline():
    ring = SB.mesh_rings()
    assert ring.shape == (M.N_MESH,)
    assert (ring[list(M.FACE_OVAL)] == 0).all()
    assert ring.max() < M.N_MESH  # the mesh is connected
    e = M.tessellation_edges()
    assert (np.abs(ring[e[:, 0]] - ring[e[:, 1]]) <= 1).all()  # a breadth-first distance
    one = np.nonzero(ring == 1)[0]
    touches = np.isin(e, list(M.FACE_OVAL))
    assert set(one) <= set(e[touches[:, 1], 0]) | set(e[touches[:, 0], 1])


def test_the_gate_opens_on_a_creased_strip_and_stays_shut_on_a_plain_edge(grace_pair, renderer):
    assert min(grace_pair[0].side_band.gates) > 0.9  # wrinkles and the ear's front edge at her outline
    assert renderer.side_band.gates == (0.0, 0.0)  # the astronaut's cheek fades smoothly into hair


@pytest.mark.parametrize("yaw", [-20.0, -12.0, 12.0, 20.0])
def test_a_turn_refills_the_stretched_band_with_skin_and_keeps_the_ear(grace_pair, yaw):
    r, plain, rig = grace_pair
    lm = rig.forward({"yaw": yaw})[0]
    filled, before = r.render(lm), plain.render(lm)
    dst, _ = r.target_vertices(lm[:, :2])
    mask = _near_band_mask(r, dst, right=yaw > 0)
    assert streakiness(before, mask) > 2.5  # the ghost ear: the photo's strip stretched 4-11x
    assert streakiness(filled, mask) < 1.2
    # only pixels inside the target face outline change: ear, hair and background stay
    oval = np.zeros((r.H, r.W), np.uint8)
    cv2.fillPoly(oval, [np.round(dst[list(M.FACE_OVAL)]).astype(np.int32)], 1)
    oval = cv2.dilate(oval, np.ones((3, 3), np.uint8)) > 0
    changed = np.abs(filled.astype(np.int16) - before).max(2) > 0
    assert changed.sum() > 1000
    assert not (changed & ~oval).any()


def test_expressions_that_do_not_stretch_the_band_are_untouched(grace_pair):
    r, plain, rig = grace_pair
    for params in ({"AU4": 1.0}, {"AU1": 1.0, "AU2L": 1.0, "AU2R": 1.0, "AU5": 1.0}, {"AU43": 1.0, "gaze_h": 0.5}):
        lm = rig.forward(params)[0]
        assert np.array_equal(r.render(lm), plain.render(lm)), params


def test_a_plain_edge_renders_exactly_as_without_the_fill(astronaut, renderer):
    from thinkdraw.face.rig import Rig

    img, portrait = astronaut
    plain = Renderer(img, portrait, RenderConfig(side_fill=False))
    lm = Rig(portrait).forward({"yaw": 20.0, "AU26": 1.0})[0]
    assert np.array_equal(renderer.render(lm), plain.render(lm))


def test_the_torch_path_draws_the_fill_too(grace_pair):
    from thinkdraw.render.torch_warp import TorchRenderer

    r, plain, rig = grace_pair
    lm = rig.forward({"yaw": 20.0})
    dst, _ = r.target_vertices(lm[0, :, :2])
    mask = _near_band_mask(r, dst, right=True)
    assert streakiness(TorchRenderer(r, "cpu").render_batch(lm)[0], mask) < 1.2
    assert streakiness(TorchRenderer(plain, "cpu").render_batch(lm)[0], mask) > 2.5
