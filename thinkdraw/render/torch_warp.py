"""Torch batch path: many frames warped at once with ``grid_sample`` (CPU or GPU).

The same piecewise-affine backward warp as :mod:`thinkdraw.render.warp`, batched over frames:
for every (frame, triangle, lattice cell in the triangle's box) the barycentric test and affine
map are evaluated as one tensor expression; the dense map is upsampled from the lattice and one
``grid_sample`` warps the whole batch. The small overlays (mouth interior, irises, lids) are then
drawn per frame by the numpy renderer, which is cheap (they cover a few thousand pixels), and so
is a rigid glasses frame (glasses.py) on top of the warped face plate. One difference from the
numpy path: where a frame squeezes the skin (minification > 1.5, e.g. the neck under a full jaw
drop) the numpy path samples prefiltered plates (raster.remap_filtered); this path samples the
plain plate there, so such pixels may alias a little.
Torch is imported only here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from thinkdraw.errors import InputError
from thinkdraw.render.raster import Region, window_map
from thinkdraw.render.warp import Renderer


class TorchRenderer:
    """Batch renderer sharing a :class:`Renderer`'s precomputed mesh and appearance.

    device: "cpu", "cuda", ... (default: cuda when available). step: lattice spacing in pixels for
    the map (1 = exact per pixel; default: the renderer's own, :func:`thinkdraw.render.warp.lattice_steps`).
    """

    def __init__(self, renderer: Renderer, device: str | torch.device | None = None, step: int | None = None) -> None:
        self.r = renderer
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.step = int(step or renderer.steps.fine)
        H, W = renderer.H, renderer.W
        self.H, self.W = H, W
        s = self.step
        self.nw, self.nh = (W - 1) // s + 2, (H - 1) // s + 2
        # the face plate (the portrait itself unless a glasses frame was cut out: the frame is
        # composited by the overlays, so ``render_batch(overlays=False)`` shows the bare plate)
        self.image = torch.from_numpy(np.ascontiguousarray(renderer.plate)).to(self.device).permute(2, 0, 1).float()[None]
        # rasterised in the renderer's paint order (support mesh, then the face far to near) by the
        # photo's depth: where triangles overlap, the later write is the one meant to show
        self.tris = torch.from_numpy(renderer.tris[renderer.paint_order()]).to(self.device)
        self.src = torch.from_numpy(renderer.src).to(self.device, torch.float32)  # (V, 2) rest sources
        self.moving_src = ((self.tris >= renderer.hole0) & (self.tris < renderer.sup0)).any(1)  # (F,) Renderer.frame_src moves these

    def _pairs(self, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Candidate (triangle, lattice x, lattice y) from the union of the batch's boxes."""
        tri_pts = dst[:, self.tris] / self.step  # (T, F, 3, 2) lattice units
        lo = torch.ceil(tri_pts.amin(dim=(0, 2)) - 1e-4).long()
        hi = torch.floor(tri_pts.amax(dim=(0, 2)) + 1e-4).long()
        lo[:, 0].clamp_(0, self.nw - 1)
        lo[:, 1].clamp_(0, self.nh - 1)
        hi[:, 0].clamp_(-1, self.nw - 1)
        hi[:, 1].clamp_(-1, self.nh - 1)
        bw = (hi[:, 0] - lo[:, 0] + 1).clamp(min=0)
        bh = (hi[:, 1] - lo[:, 1] + 1).clamp(min=0)
        counts = bw * bh
        tri = torch.repeat_interleave(torch.arange(len(counts), device=dst.device), counts)
        start = torch.cumsum(counts, 0) - counts
        local = torch.arange(int(counts.sum()), device=dst.device) - torch.repeat_interleave(start, counts)
        px = lo[tri, 0] + local % bw[tri]
        py = lo[tri, 1] + torch.div(local, bw[tri], rounding_mode="floor")
        return tri, px, py

    @torch.no_grad()
    def maps(self, dst: np.ndarray, src: np.ndarray | None = None) -> torch.Tensor:
        """Mesh vertices (T, V, 2) pixels and their sources (T, V, 2) pixels (Renderer.frame_src;
        the rest ones, ``Renderer.src``, when None) -> backward maps (T, H, W, 2) source pixels (x, y)."""
        d = torch.from_numpy(np.asarray(dst, np.float32)).to(self.device)
        srcs = np.broadcast_to(self.r.src, d.shape) if src is None else np.asarray(src, np.float64)
        T = d.shape[0]
        s = self.step
        tri, px, py = self._pairs(d)
        a = d[:, self.tris[tri, 0]] / s  # (T, P, 2) lattice units
        b = d[:, self.tris[tri, 1]] / s
        c = d[:, self.tris[tri, 2]] / s
        e1, e2 = b - a, c - a
        det = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
        ok = det.abs() > 1e-9
        det = torch.where(ok, det, torch.ones_like(det))
        qx = px.float()[None] - a[..., 0]
        qy = py.float()[None] - a[..., 1]
        l1 = (qx * e2[..., 1] - qy * e2[..., 0]) / det
        l2 = (e1[..., 0] * qy - e1[..., 1] * qx) / det
        eps = -1e-4
        inside = ok & (l1 >= eps) & (l2 >= eps) & (l1 + l2 <= 1 - eps)
        sa, sb, sc = self.src[self.tris[tri, 0]], self.src[self.tris[tri, 1]], self.src[self.tris[tri, 2]]
        sx = sa[None, :, 0] + l1 * (sb - sa)[None, :, 0] + l2 * (sc - sa)[None, :, 0]
        sy = sa[None, :, 1] + l1 * (sb - sa)[None, :, 1] + l2 * (sc - sa)[None, :, 1]
        moving = torch.nonzero(self.moving_src[tri], as_tuple=True)[0]  # pairs on the mouth hole's triangles
        if src is not None and len(moving):  # their sources move per frame (Renderer.frame_src)
            sv = torch.from_numpy(np.asarray(srcs, np.float32)).to(self.device)  # (T, V, 2)
            ma, mb, mc = (sv[:, self.tris[tri[moving], j]] for j in range(3))  # (T, M, 2)
            m1, m2 = l1[:, moving, None], l2[:, moving, None]
            hole = ma + m1 * (mb - ma) + m2 * (mc - ma)
            sx[:, moving], sy[:, moving] = hole[..., 0], hole[..., 1]
        gy, gx = torch.meshgrid(torch.arange(self.nh, device=d.device, dtype=torch.float32) * s,
                                torch.arange(self.nw, device=d.device, dtype=torch.float32) * s, indexing="ij")
        disp = torch.zeros(T, 2, self.nh * self.nw, device=d.device)
        fi, pi = torch.nonzero(inside, as_tuple=True)
        cell = py[pi] * self.nw + px[pi]
        disp[fi, 0, cell] = sx[fi, pi] - gx.reshape(-1)[cell]
        disp[fi, 1, cell] = sy[fi, pi] - gy.reshape(-1)[cell]
        disp = disp.view(T, 2, self.nh, self.nw)
        if s > 1:
            size = ((self.nh - 1) * s + 1, (self.nw - 1) * s + 1)
            disp = F.interpolate(disp, size=size, mode="bilinear", align_corners=True)
        disp = disp[:, :, : self.H, : self.W]
        yy, xx = torch.meshgrid(torch.arange(self.H, device=d.device, dtype=torch.float32),
                                torch.arange(self.W, device=d.device, dtype=torch.float32), indexing="ij")
        out = torch.stack([xx + disp[:, 0], yy + disp[:, 1]], -1)
        if s > 1:  # the lips' and eyes' boxes exactly, as the numpy path does (Renderer.exact_windows)
            for i, frame in enumerate(np.asarray(dst, np.float64)):
                for win in self.r.exact_windows(frame):
                    wx, wy = window_map(frame, srcs[i], self.r.tris, win)
                    exact = torch.from_numpy(np.stack([wx, wy], -1)).to(out.device)
                    out[i, win.y0 : win.y1, win.x0 : win.x1] = exact
        return out

    @torch.no_grad()
    def warp(self, maps: torch.Tensor) -> torch.Tensor:
        """Backward maps (T, H, W, 2) -> warped frames (T, 3, H, W) float 0-255 on the device."""
        grid = torch.empty_like(maps)
        grid[..., 0] = maps[..., 0] * (2.0 / max(self.W - 1, 1)) - 1.0
        grid[..., 1] = maps[..., 1] * (2.0 / max(self.H - 1, 1)) - 1.0
        img = self.image.expand(maps.shape[0], -1, -1, -1)
        return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)

    def render_batch(self, landmarks: np.ndarray, overlays: bool = True) -> np.ndarray:
        """(T, 478, 2|3) pixels -> (T, H, W, 3) uint8, frames warped together on the device."""
        lm = np.asarray(landmarks, dtype=np.float64)
        if lm.ndim != 3 or lm.shape[1] != 478 or lm.shape[2] not in (2, 3):
            raise InputError(f"expected (T, 478, 2|3) landmarks, got shape {lm.shape}")
        if not np.isfinite(lm).all():
            raise InputError("target landmarks contain NaN or infinity")
        verts, heads = zip(*(self.r.target_vertices(f) for f in lm))
        maps = self.maps(np.stack(verts), np.stack([self.r.frame_src(f, h) for f, h in zip(lm, heads)]))
        frames = self.warp(maps).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        if overlays:
            full = Region(0, 0, self.W, self.H)
            maps_np: Any = None
            for i in range(len(lm)):
                if maps_np is None and self.r.config.eyes:
                    maps_np = maps.cpu().numpy()
                mx = maps_np[i, ..., 0] if maps_np is not None else None
                my = maps_np[i, ..., 1] if maps_np is not None else None
                self.r.overlay(frames[i], lm[i], full, mx, my, verts[i], heads[i])
        return frames
