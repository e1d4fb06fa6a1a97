"""Image operations the renderer's set-up uses on portraits of any size."""

from __future__ import annotations

import numpy as np

from thinkdraw.render.raster import inpaint, smooth


def _scene(n: int) -> tuple[np.ndarray, np.ndarray]:
    """An (n, n) smooth colour ramp with a dark disc to paint out (mask 255 on the disc)."""
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    img = np.stack([120 + 60 * x, 100 + 40 * y, 90 + 20 * x * y], -1).astype(np.uint8)
    disc = (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.15**2
    img[disc] = 20
    return img, disc.astype(np.uint8) * 255


def test_inpaint_fills_only_the_mask_at_any_radius() -> None:
    img, mask = _scene(400)
    for radius in (4.0, 40.0):  # the direct fill, and the scaled-down one (radius > 8 px)
        out = inpaint(img, mask, radius)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert np.array_equal(out[mask == 0], img[mask == 0])  # every other pixel is the source's
        filled = out[mask > 0].astype(float)
        assert filled.mean() > 90  # the dark disc is gone, continued from the ramp around it
        assert np.abs(filled.mean(0) - img[mask == 0].astype(float).mean(0)).max() < 25


def test_smooth_matches_a_direct_blur_at_wide_sigmas() -> None:
    import cv2

    img, _ = _scene(300)
    f = img.astype(np.float32)
    for sigma in (3.0, 40.0):  # direct, and scaled down to a 4 px kernel and back up
        out = smooth(f, sigma)
        ref = cv2.GaussianBlur(f, (0, 0), sigma)
        assert out.shape == f.shape
        inner = (slice(60, 240), slice(60, 240))  # away from the border handling
        assert np.abs(out[inner] - ref[inner]).max() < 3.0


def test_normalized_blur_ignores_untrusted_pixels() -> None:
    from thinkdraw.render.raster import normalized_blur

    img, disc = _scene(200)
    f = img.astype(np.float32)
    trusted = (disc == 0).astype(np.float32)
    low, support = normalized_blur(f, trusted, 8.0)
    plain = smooth(f, 8.0)
    assert low.shape == f.shape and support.shape == disc.shape
    ring = (disc > 0) & (support > 0.05)  # the disc's edge, where a plain blur pulls in the dark
    assert low[ring].min() > 90 and plain[ring].min() < 60
    assert support[0, 0] > 0.3 and support[100, 100] < 0.05  # support: trusted pixels nearby
    flat = np.full_like(f, 77.0)
    same, _ = normalized_blur(flat, trusted, 8.0)  # an average of one value is that value
    assert np.abs(same[support > 0.05] - 77.0).max() < 1e-3


def test_nearest_kept_rows_bound_each_vertical_run_of_a_mask() -> None:
    from thinkdraw.render.raster import nearest_kept_rows

    rng = np.random.default_rng(3)
    hole = rng.random((40, 25)) < 0.6
    above, below = nearest_kept_rows(hole)
    for y, x in zip(*np.nonzero(hole)):  # a reference walk, test only
        top = y
        while top > 0 and hole[top - 1, x]:
            top -= 1
        bot = y
        while bot < 39 and hole[bot + 1, x]:
            bot += 1
        assert (above[y, x], below[y, x]) == (top - 1, bot + 1)
    kept = ~hole
    assert np.array_equal(above[kept], np.nonzero(kept)[0]) and np.array_equal(below[kept], np.nonzero(kept)[0])


def test_vertex_map_interpolates_any_number_of_values_and_agrees_with_the_backward_map() -> None:
    from thinkdraw.render.raster import Region, backward_map, vertex_map

    rng = np.random.default_rng(3)
    dst = np.array([[2.0, 3.0], [40.0, 5.0], [38.0, 30.0], [4.0, 28.0], [20.0, 16.0]])
    tris = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    src = dst + rng.normal(0, 2, dst.shape)
    region = Region(0, 0, 45, 35)
    # a linear function of position is reproduced exactly; a third value rides along
    lin = dst @ np.array([0.5, -2.0]) + 7.0
    vals, covered = vertex_map(dst, np.column_stack([src, lin]), tris, region)
    assert vals.shape == (35, 45, 3) and covered.shape == (35, 45)
    ys, xs = np.nonzero(covered)
    assert 600 < len(ys) < 45 * 35
    assert np.allclose(vals[ys, xs, 2], 0.5 * xs - 2.0 * ys + 7.0, atol=1e-3)
    assert (vals[~covered] == 0).all()
    mx, my = backward_map(dst, src, tris, region, 1)
    assert np.array_equal(vals[..., 0][covered], mx[covered]) and np.array_equal(vals[..., 1][covered], my[covered])
