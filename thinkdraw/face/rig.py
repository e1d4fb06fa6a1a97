"""The FACS rig: rig parameters <-> face landmarks, the one place that knows what an AU does.

Model (canonical frame of :mod:`thinkdraw.face.geometry`, unit = inter-ocular distance, IOD)
--------------------------------------------------------------------------------------------
For AU intensities ``a`` (K_au,) and gaze ``g`` (2,), the face shape is::

    X_lin = N + sum_k a_k B_k + g_h G_h + g_v G_v + sum_(i,j) h_ij(a_i a_j) F_ij   (interactions)
    X     = X_lin + sum_e c_e * (M_e @ X_lin),   c_e = clip(AU43 + AU45<side e>, 0, 1)
    X     = clamp(X)   (upper lid never below its lower-lid partner; inner lips never cross; the
                        inner upper lip stops just above the gum line: limit_upper_lip)

* ``N`` (478, 3): the portrait's own face, neutralised (see *neutralisation* below).
* ``B_k``: per-channel displacement fields, computed at load time from the authored components
  in ``thinkdraw/facs/rig.yaml`` (seed vertices, move/rotate, Gaussian falloff of the geodesic
  distance over the mesh; eyelid components as fractions of this face's own eye opening).
* ``F_ij``: interaction fields (rig.yaml ``interactions``) for AU pairs whose combination FACS
  describes as other than the sum, e.g. 1+4: the inner brows rise *and* knit (sad brows), where
  the plain sum would leave them level; 12+25: a smile with the lips apart lifts the upper lip
  off the teeth (split AUs pair per side).  ``h_ij`` is the product itself, or for a motion the
  tissue stops short of, a saturating function of it (:class:`Interaction`: 12+25's lip lift
  bends toward the gum line).  The inverse's Gauss-Newton refinement models them.
* ``M_e``: the eyelid-closure operator of eye e (sparse 478 x 478): it moves each upper-lid vertex
  most of the way onto its lower-lid partner (and the lower lid a little up) from their *current*
  positions, with the lid skin following.  The model is therefore bilinear in (closure, other AUs)
  and a closed eye closes whatever AU5/AU7 did first.  Irises follow their eye (mean motion of the
  eye corners) and move with gaze.

Pose: pixel landmarks = camera_to_pixel(s * R @ (X - c) + T) with ``c`` the head pivot
(rig.yaml), ``s = s0 * exp(scale)``, ``R = euler(yaw0 + yaw, pitch0 + pitch, roll0 + roll)``,
``T = T0 + W * (tx, -ty, 0)``; (s0, yaw0.., T0) are the portrait's own pose and W its face width
in pixels.  So all-zero pose channels keep the photo's head exactly where it is.

Inverse: landmarks (T, 478, 2|3) -> (T, D).  Per frame: similarity (3D, Umeyama) or scaled
orthographic (2D) fit of the neutral model on stable anchor points; then AU + gaze intensities by
bounded linear least squares (AUs in [0, 1], gaze in [-1, 1]): all frames at once through the
shared, Cholesky-factored normal equations (3D), falling back to bounded-variable least squares
(``scipy.optimize.lsq_linear``, method bvls) on the K x K reduced problem for frames whose
unconstrained solution leaves the bounds; a per-frame projected design for 2D input.  The pose is
refitted against the predicted shape and the AUs re-solved (alternation, 3 rounds).  Antagonist
pairs listed in rig.yaml (AU5 vs the lid closers, AU25/26/27 vs AU24, ...) are never both active:
the weaker is fixed at 0 and the frame re-solved.  Frames with closing eyes get Gauss-Newton
steps on the bilinear closure term.  An optional L1 prior (``sparsity``) trades a small bias on
active AUs for fewer spurious ones on noisy (re-detected) landmarks.  Pose channels are relative
to the reference (neutral) pose.  See :class:`InverseConfig`.

Neutralisation ("most photos already smile"): the portrait's own mouth AUs are estimated from
measurements that identity barely affects -- the height of each lip corner above the stomion
(midpoint of the inner lips) and the inner-lip gaps -- by bounded least squares over
AU12L/AU12R/AU15/AU25/AU26/AU27 against the values of a neutral face (corners level with the stomion,
lips closed), with the bilinear AU12 x AU25 term (the upper lip lifted off the teeth) fitted too;
intensities that move no measure by ``NEUTRALISE_MIN`` count as no evidence.  ``N = portrait shape - sum own_k B_k -
sum own_i own_j F_ij + K``, where ``K`` moves the mouth's width toward a resting one along AU12's
sideways pull: as far as the lips are closed it gives back the part that would make the mouth
narrower (closed smiles barely widen the mouth), as far as they are apart it removes more (open
smiles are wider than their own AU12 says); see :func:`smile_width_adjustment`.  With
``relative=True`` (default) ``forward`` renders targets on ``N``, so AU15 on a smiling photo gives a
sad mouth, not a smile minus a bit; ``relative=False`` adds the displacements to the photo's face
as it is.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Union

import numpy as np
import yaml

from thinkdraw.errors import InputError
from thinkdraw.face import geometry, mesh
from thinkdraw.face.canonical import canonical_neutral, mirror_index, mirror_points
from thinkdraw.motion import GAZE_CHANNELS, POSE_CHANNELS, au_channels, params_to_vector, rig_channels

ParamsLike = Union[np.ndarray, Sequence[float], Mapping[str, float]]

NEUTRALISE_AUS: tuple[str, ...] = ("AU12L", "AU12R", "AU15", "AU25", "AU26", "AU27")
"""Channels estimated on (and removed from) the portrait's own face."""
NEUTRALISE_MIN = 0.01
"""An own-AU estimate that moves no mouth measure (a lip corner's height, an inner-lip gap) this
far (IOD) is treated as no evidence (set to 0, the others refitted): 0.08 of AU12, AU15 or AU25,
0.02 of AU26, 0.016 of AU27. A threshold on the intensity (0.08) dropped the jaw's share of a
smile's opening (AU26 0.08 + AU27 0.05 on multi_face_1: 0.06 IOD, 5 mm) and left 13 of 28
open-mouthed registry photos neutralised with the lips 0.02-0.06 IOD apart (a sad mouth showed a
band of teeth); refitted without them, AU25 reached its bound and the corners sank instead."""
OWN_PARTING_RIDGE = 1e-4
"""Ridge weight on AU25 there (1e-3 on the other AUs): small, so that the jaw's ridge weighs far
more at the margin and a rig-made 12+25 reads back without a jaw share (at 1e-3, AU25 0.8 read
0.66 with AU26 and AU27 taking the rest once NEUTRALISE_MIN no longer hid them)."""
OWN_JAW_RIDGE = 0.02
"""Ridge weight on AU26 when estimating the portrait's own mouth AUs (see estimate_own_aus)."""
OWN_STRETCH_RIDGE = 0.05
"""Ridge weight on AU27 there: a wide-open mouth (AU25 + AU27 on the canonical face) read as AU12
0.46 + AU25 + AU26 without it, a smile its neutralisation then took away (mouth error 0.160 IOD rms
-> 0.010); at 0.02 AU27 also took over plain open smiles' opening from AU25."""
NEUTRAL_CORNER_OFFSET = -0.01
"""Height (IOD, y up) of the outer lip corners above the stomion in a neutral face."""
LIPS_APART_GAP = 0.1
"""Inner-lip gap (IOD) of the photo from which its smile counts as fully open (see smile_width_adjustment);
open smiles in the registry photos part the lips 0.07-0.39, closed ones under 0.03."""
SMILE_WIDTH_AUS: tuple[str, ...] = ("AU12L", "AU12R")
"""Own AUs whose sideways pull moves the neutral mouth toward a resting width (see
:func:`smile_width_adjustment`)."""

# Stable points for the first head-pose fit (eye corners, nose dorsum/tip, temples, cheekbones):
# no AU of rig.yaml moves them by more than ~0.01 IOD. Not used: MediaPipe's forehead points
# (extrapolated from the brows) and 168 at the nose root (the glabella skin moves with AU1/AU4).
RIG_ANCHORS: tuple[int, ...] = (33, 133, 263, 362, 6, 197, 195, 5, 4, 1, 234, 454, 127, 356,
                                93, 323)
ANCHOR_EXTRA_WEIGHT = 4.0  # anchors count this much more than other points in later pose fits
# Matched lid pairs (upper, lower) per eye, corners excluded.
RIGHT_LID_PAIRS = tuple(zip(mesh.RIGHT_EYE_UPPER[1:-1], mesh.RIGHT_EYE_LOWER[1:-1]))
LEFT_LID_PAIRS = tuple(zip(mesh.LEFT_EYE_UPPER[1:-1], mesh.LEFT_EYE_LOWER[1:-1]))
LIP_PAIRS = tuple(zip(mesh.LIPS_INNER_UPPER[1:-1], mesh.LIPS_INNER_LOWER[1:-1]))
Z_WEIGHT = 0.5  # weight of z residuals in the 3D inverse (MediaPipe depth is noisier than x, y)


# ----------------------------------------------------------------------------------------------
# Authoring data -> fields
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def rig_spec() -> dict[str, Any]:
    """Parsed ``thinkdraw/facs/rig.yaml`` (cached; read-only)."""
    text = resources.files("thinkdraw.facs").joinpath("rig.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _resolve(items: Sequence[Any], groups: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for it in items:
        if isinstance(it, str):
            if it not in groups:
                raise KeyError(f"rig.yaml: unknown vertex group {it!r}")
            out += _resolve(groups[it], groups)
        else:
            out.append(int(it))
    return sorted(set(out))


@functools.lru_cache(maxsize=None)
def _graph():
    """Sparse symmetric mesh graph with canonical edge lengths."""
    from scipy.sparse import csr_matrix

    p = canonical_neutral()
    e = mesh.tessellation_edges()
    w = np.linalg.norm(p[e[:, 0]] - p[e[:, 1]], axis=1)
    n = mesh.N_MESH
    g = csr_matrix((np.r_[w, w], (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n))
    return g


def _geodesic(seeds: Sequence[int], with_sources: bool = False):
    """(468,) geodesic distance to the nearest seed (and that seed's index if asked)."""
    from scipy.sparse.csgraph import dijkstra

    seeds = [s for s in seeds if s < mesh.N_MESH]
    res = dijkstra(_graph(), directed=False, indices=seeds, min_only=True, return_predecessors=with_sources)
    if with_sources:
        d, _, src = res
        return d, src
    return res


def _falloff(seeds: Sequence[int], radius: float, pins: Sequence[int] = (), pin_radius: float = 0.05,
             ) -> np.ndarray:
    """(478,) weights: Gaussian of geodesic distance to the seeds, cut at 3 radius, pinned."""
    w = np.zeros(mesh.N_LANDMARKS)
    d = _geodesic(seeds)
    wm = np.exp(-0.5 * (d / radius) ** 2)
    wm[d > 3 * radius] = 0.0
    wm[[s for s in seeds if s < mesh.N_MESH]] = 1.0
    if pins:  # pins attenuate seeds too: a seed next to a pinned vertex moves less
        dp = _geodesic(pins)
        wm *= 1.0 - np.exp(-0.5 * (dp / pin_radius) ** 2)
    w[: mesh.N_MESH] = wm
    return w


def _rotation(axis: Sequence[float], deg: float) -> np.ndarray:
    """Rodrigues rotation matrix about ``axis`` by ``deg`` degrees (right-hand rule)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    th = np.deg2rad(deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(th) * kx + (1 - np.cos(th)) * kx @ kx


def _read_table(table: Sequence[float], u: np.ndarray) -> np.ndarray:
    """A rig.yaml table of evenly spaced knots over [0, 1], read piecewise linearly at ``u`` (clipped)."""
    knots = np.asarray(table, dtype=np.float64)
    return np.interp(np.clip(u, 0.0, 1.0), np.linspace(0.0, 1.0, len(knots)), knots)


def _component_left(comp: Mapping[str, Any], groups: Mapping[str, Any], canon: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Left-half weights (478,) and per-vertex displacement (478, 3) of one move/rotate component."""
    seeds = _resolve(comp["seeds"], groups)
    pins = _resolve(comp.get("pin", []), groups)
    w = _falloff(seeds, float(comp["radius"]), pins, float(comp.get("pin_radius", 0.05)))
    for items, radius in comp.get("pins", []):  # extra pin sets, each with its own radius
        d = _geodesic(_resolve(items, groups))
        w[: mesh.N_MESH] *= 1.0 - np.exp(-0.5 * (d / float(radius)) ** 2)
    falloff = w.copy()  # before the lip rings' own weights (oval, corner_oval, profile)
    for key, complement in (("oval", False), ("corner_oval", True)):  # lip rings opening as an oval
        for items, corner in comp.get(key, []):
            ids = _resolve(items, groups)
            half = abs(float(canon[int(corner), 0]))
            w[mirror_index()[ids]] = 0.0  # the right ring gets its weight from the mirrored field only
            e = np.sqrt(np.clip(1.0 - (canon[ids, 0] / half) ** 2, 0.0, 1.0))
            w[ids] = 1.0 - e if complement else e
    for items, corner, table in comp.get("profile", []):  # lip rings stretched from the far corner
        ids = _resolve(items, groups)
        ids = sorted(set(ids) | set(int(i) for i in mirror_index()[ids]))  # the whole ring, both halves
        u = 0.5 + 0.5 * canon[ids, 0] / float(canon[int(corner), 0])  # 0 at the far corner, 1 at its own
        w[ids] = _read_table(table, u)
    if "taper" in comp:  # weights fading from the midline toward the corners
        corner, table = comp["taper"]
        t = _read_table(table, np.abs(canon[:, 0]) / abs(float(canon[int(corner), 0])))
        w, falloff = w * t, falloff * t
    w = falloff + smooth_skin(w - falloff)  # the rings' departure from the falloff reaches the skin
    gain = float(comp.get("gain", 1.0))
    if "move" in comp:
        disp = np.broadcast_to(np.asarray(comp["move"], dtype=np.float64), canon.shape).copy()
    elif "rotate" in comp:
        r = comp["rotate"]
        pivot = np.asarray(r["pivot"], dtype=np.float64)
        rot = _rotation(r["axis"], float(r["deg"]))
        disp = (canon - pivot) @ rot.T + pivot - canon
    else:
        raise KeyError(f"rig.yaml: component needs move, rotate, lid or closure: {comp}")
    return w, disp * gain


@functools.lru_cache(maxsize=None)
def _skin_smoothing() -> tuple[Any, np.ndarray, float, int]:
    """rig.yaml ``skin_smoothing``: (468, 468) row-normalised mesh adjacency (sparse), (468,) mask of
    the skin it relaxes, rate, steps."""
    from matplotlib.path import Path
    from scipy.sparse import csr_matrix

    cfg = rig_spec().get("skin_smoothing") or {}
    rate, steps, reach = float(cfg.get("rate", 0.0)), int(cfg.get("steps", 0)), float(cfg.get("reach", 0.0))
    if not (0.0 <= rate <= 1.0 and steps >= 0 and reach >= 0.0):
        raise ValueError("rig.yaml: skin_smoothing needs rate in [0, 1], steps >= 0, reach >= 0")
    c = canonical_neutral()[: mesh.N_MESH, :2]
    adj = _graph().copy()  # the mesh's edges, each neighbour counted once
    adj.data[:] = 1.0
    adj = csr_matrix(adj.multiply(1.0 / np.maximum(np.asarray(adj.sum(1)).ravel(), 1.0)[:, None]))
    lips = c[list(mesh.LIPS_OUTER)]
    free = np.linalg.norm(c - lips.mean(0), axis=1) < reach
    free &= ~Path(lips).contains_points(c)  # the lips themselves, inner rings included
    held = (mesh.LIPS_OUTER, mesh.LIPS_INNER, mesh.LEFT_EYE, mesh.RIGHT_EYE, mesh.NOSE_HULL, mesh.FACE_OVAL)
    for ids in held:
        free[list(ids)] = False
    return adj, free, rate, steps


def smooth_skin(w: np.ndarray) -> np.ndarray:
    """(478,) values relaxed on the skin round the mouth (rig.yaml ``skin_smoothing``): ``steps``
    explicit steps w += rate * (mean of the mesh neighbours - w) of the umbrella Laplacian (Taubin
    1995, "A signal processing approach to fair surface design", eq. 3) on the free skin, the lips,
    eyes, nose and face outline held.  Given a component's lip-ring weights minus its Gaussian
    falloff (zero on the skin), it carries the rings' own profile a few rows into the skin."""
    adj, free, rate, steps = _skin_smoothing()
    if steps == 0 or rate == 0.0:
        return w
    x = np.array(w[: mesh.N_MESH], dtype=np.float64)
    for _ in range(steps):
        x[free] += rate * (adj @ x - x)[free]
    out = np.array(w, dtype=np.float64)
    out[: mesh.N_MESH] = x
    return out


def _lid_operator(pairs: Sequence[tuple[int, int]], upper: float, lower: float, radius: float,
                  corners: Sequence[int]) -> Any:
    """Sparse (478, 478) operator M: (M @ X) = eyelid displacement for shape X (per coordinate).

    Upper-lid vertex u moves ``upper`` of the way to its lower partner l, l moves ``lower`` of the
    way to u; other skin vertices copy the motion of their geodesically nearest lid vertex on the
    same side of the eye opening with weight exp(-d^2 / 2 radius^2) (eye corners stay still).
    """
    from scipy.sparse import lil_matrix

    n = mesh.N_LANDMARKS
    m = lil_matrix((n, n))
    rows: dict[int, dict[int, float]] = {}
    for u, l in pairs:
        rows[u] = {l: upper, u: -upper}
        rows[l] = {u: lower, l: -lower}
    ring = set(rows) | set(corners)
    for lid, coef in ((tuple(u for u, _ in pairs), upper), (tuple(l for _, l in pairs), lower)):
        if coef == 0.0:
            continue
        d, src = _geodesic(lid, with_sources=True)
        dc = _geodesic(corners)
        for i in np.nonzero(d < 3 * radius)[0]:
            if i in ring:
                continue
            w = np.exp(-0.5 * (d[i] / radius) ** 2) * (1.0 - np.exp(-0.5 * (dc[i] / 0.04) ** 2))
            for j, v in rows[int(src[i])].items():
                rows.setdefault(int(i), {})
                rows[int(i)][j] = rows[int(i)].get(j, 0.0) + w * v
    for i, r in rows.items():
        for j, v in r.items():
            m[i, j] = v
    return m.tocsr()


@dataclass
class AuthoredRig:
    """Portrait-independent part of the rig, built from rig.yaml on the canonical mesh.

    static: (C, 478, 3) move/rotate fields per basis column (AU channels then gaze_h, gaze_v).
    lid_ops: per basis column, list of (sparse M) linear eyelid operators (field = M @ neutral).
    closure_ops: per eye ('L' / 'R'): (M, [basis columns that close it]).
    interactions: bilinear terms (:class:`Interaction`) for AU pairs whose combination FACS
    describes as more than the sum of the parts (rig.yaml ``interactions``).
    """

    columns: tuple[str, ...]  # basis column names: AU channels + gaze channels
    static: np.ndarray  # (C, 478, 3) float64
    lid_ops: list[list[Any]]  # per column
    closure_ops: dict[str, tuple[Any, list[int]]]
    head_pivot: np.ndarray  # (3,)
    interactions: tuple["Interaction", ...] = ()


def soft_limit(p: np.ndarray, knee: np.ndarray | float, limit: np.ndarray | float) -> np.ndarray:
    """p up to ``knee``, then knee + (limit - knee) tanh((p - knee) / (limit - knee)): slope 1 at
    the knee, never reaching ``limit`` (knee < limit; arrays broadcast)."""
    span = np.asarray(limit) - np.asarray(knee)
    return np.where(p <= knee, p, knee + span * np.tanh((p - knee) / span))


def soft_limit_slope(p: np.ndarray, knee: np.ndarray | float, limit: np.ndarray | float) -> np.ndarray:
    """d soft_limit / dp at p: 1 up to ``knee``, then sech^2((p - knee) / (limit - knee))."""
    span = np.asarray(limit) - np.asarray(knee)
    return np.where(p <= knee, 1.0, 1.0 / np.cosh(np.maximum(p - knee, 0.0) / span) ** 2)


@dataclass(frozen=True)
class Interaction:
    """Two AU columns acting together: shape += h(a_i a_j) * field.  h(p) = p, or with
    ``saturate`` (knee k, limit L): p up to k, then k + (L - k) tanh((p - k) / (L - k)), which
    keeps the slope 1 at the knee and never reaches L (a motion that tissue resists beyond a point,
    e.g. the upper lip lifted off the teeth up to the gum line)."""

    i: int  # column of the first AU
    j: int  # column of the second AU
    field: np.ndarray  # (478, 3) displacement at h = 1, IOD
    saturate: tuple[float, float] | None = None  # (knee, limit) of h; None: bilinear

    def amount(self, p: np.ndarray) -> np.ndarray:
        """h(p) for products p = a_i a_j (any shape)."""
        if self.saturate is None:
            return p
        return soft_limit(p, *self.saturate)

    def slope(self, p: np.ndarray) -> np.ndarray:
        """dh/dp at p."""
        if self.saturate is None:
            return np.ones_like(p)
        return soft_limit_slope(p, *self.saturate)


def _eye_rings(side: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, int]]:
    return (LEFT_LID_PAIRS, mesh.LEFT_EYE_CORNERS) if side == "L" else (RIGHT_LID_PAIRS, mesh.RIGHT_EYE_CORNERS)


@functools.lru_cache(maxsize=None)
def authored_rig() -> AuthoredRig:
    """Build (once) every field of rig.yaml on the canonical mesh."""
    spec = rig_spec()
    canon = canonical_neutral()
    mirror = mirror_index()
    groups = spec["groups"]
    cols = au_channels() + GAZE_CHANNELS
    col = {c: i for i, c in enumerate(cols)}
    static = np.zeros((len(cols), mesh.N_LANDMARKS, 3))
    lid_ops: list[list[Any]] = [[] for _ in cols]
    closure: dict[str, tuple[Any, list[int]]] = {}
    for au, comps in spec["aus"].items():
        split = f"{au}L" in col
        if not split and au not in col:
            raise KeyError(f"rig.yaml: {au} is not a rig channel")
        for comp in comps:
            if "lid" in comp or "closure" in comp:
                kind = "lid" if "lid" in comp else "closure"
                f = comp[kind]
                for side in ("L", "R"):
                    pairs, corners = _eye_rings(side)
                    op = _lid_operator(pairs, float(f["upper"]), float(f["lower"]), float(comp["radius"]), corners)
                    targets = [col[f"{au}{side}"]] if split else [col[au]]
                    if kind == "lid":
                        for t in targets:
                            lid_ops[t].append(op)
                    else:
                        prev = closure.get(side)
                        closure[side] = (op, (prev[1] if prev else []) + targets)
                continue
            fl, fr = _sided_fields(comp, groups, canon, mirror)
            if split:
                static[col[f"{au}L"]] += fl
                static[col[f"{au}R"]] += fr
            else:
                static[col[au]] += fl + fr
    # Irises follow their eye: mean motion of the eye's two corners.
    for iris, corners in ((mesh.LEFT_IRIS, mesh.LEFT_EYE_CORNERS), (mesh.RIGHT_IRIS, mesh.RIGHT_EYE_CORNERS)):
        static[:, list(iris)] = static[:, list(corners)].mean(1, keepdims=True)
    # Gaze: irises shift; the upper lid follows vertical gaze.
    gz = spec["iris_gaze"]
    static[col["gaze_h"], list(mesh.IRISES), 0] = -float(gz["h"])  # + = toward the person's right
    static[col["gaze_v"], list(mesh.IRISES), 1] = float(gz["v"])
    follow = float(spec.get("gaze_lid_follow", 0.0)) * float(gz["v"])
    for pairs, corners in (_eye_rings("L"), _eye_rings("R")):
        upper = [u for u, _ in pairs]
        w = _falloff(upper, 0.04, corners, 0.04)
        static[col["gaze_v"], :, 1] += follow * w
    return AuthoredRig(
        columns=cols, static=static, lid_ops=lid_ops, closure_ops=closure,
        head_pivot=np.asarray(spec["head_pivot"], dtype=np.float64),
        interactions=_interaction_fields(spec, col, canon, mirror),
    )


def _sided_fields(comp: Mapping[str, Any], groups: Mapping[str, Any], canon: np.ndarray,
                  mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(478, 3) left-half and mirrored right-half displacement fields of one move/rotate component
    (where the halves overlap, on the midline, their weights are normalised to sum to at most 1)."""
    w, disp = _component_left(comp, groups, canon)
    wr, dr = w[mirror], mirror_points(disp, mirror)  # the right half: the left one mirrored
    norm = 1.0 / np.maximum(1.0, w + wr)
    return (w * norm)[:, None] * disp, (wr * norm)[:, None] * dr


def _saturation(key: str, comp: Mapping[str, Any]) -> tuple[float, float] | None:
    """A component's ``saturate: [knee, limit]`` (see :class:`Interaction`), checked, or None."""
    sat = comp.get("saturate")
    if sat is None:
        return None
    knee, lim = (float(v) for v in sat)
    if not 0.0 < knee < lim:
        raise ValueError(f"rig.yaml: interaction {key!r}: saturate must be [knee, limit] with 0 < knee < limit")
    return knee, lim


def _interaction_fields(spec: Mapping[str, Any], col: Mapping[str, int], canon: np.ndarray,
                        mirror: np.ndarray) -> tuple[Interaction, ...]:
    """rig.yaml ``interactions`` -> (:class:`Interaction`, ...): the terms h(a_i a_j) * field of two
    AUs acting together, one per distinct ``saturate`` among the entry's components (the others'
    fields summed).  Where either AU is split (AU12 -> AU12L, AU12R) the pair acts per side: the
    left half of the field goes with the left channel(s), the mirrored right half with the right
    ones (h(AU12L * AU25) * left + h(AU12R * AU25) * right)."""
    out = []
    for key, comps in (spec.get("interactions") or {}).items():
        pair = [k.strip() for k in str(key).split("+")]
        split = [f"{k}L" in col for k in pair]
        if len(pair) != 2 or any(k not in col and not sp for k, sp in zip(pair, split)):
            raise KeyError(f"rig.yaml: interaction {key!r} must name two AUs of the rig, like AU1+AU4")
        halves: dict[tuple[float, float] | None, np.ndarray] = {}
        for comp in comps:
            sat = _saturation(key, comp)
            halves[sat] = halves.get(sat, 0.0) + np.stack(_sided_fields(comp, spec["groups"], canon, mirror))
        for sat, both in halves.items():
            if not any(split):
                out.append(Interaction(col[pair[0]], col[pair[1]], both.sum(0), sat))
                continue
            for side, half in zip("LR", both):
                ij = [col[f"{k}{side}"] if sp else col[k] for k, sp in zip(pair, split)]
                out.append(Interaction(ij[0], ij[1], half, sat))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# The pure model on one neutral face
# ----------------------------------------------------------------------------------------------
@dataclass
class RigModel:
    """The rig on one neutral face, in the canonical frame (no pixels, no pose).

    Columns C = AU channels + gaze_h, gaze_v.  ``shape(a)`` is the full (bilinear, clamped)
    model; ``basis`` holds the linear fields (lid fields evaluated on this neutral; closure
    columns only their static parts), ``lin_basis`` the same with the closure columns linearised at
    the neutral (the inverse's first pass), ``closure`` per eye ('L'/'R') the sparse operator M and
    the columns that drive it.  Usable without any portrait: ``RigModel.build().shape(a)``.
    """

    neutral: np.ndarray
    basis: np.ndarray
    closure: dict[str, tuple[Any, list[int]]]
    columns: tuple[str, ...]
    lin_basis: np.ndarray  # (C, 478, 3) basis with closure columns linearised at the neutral
    lin_mask: np.ndarray  # (C,) bool: False for the bilinear closure columns
    interactions: tuple[Interaction, ...] = ()  # + h(a_i a_j) field each
    cache: dict[str, Any] = field(default_factory=dict)  # solver factorisations

    @classmethod
    def build(cls, neutral: np.ndarray | None = None) -> "RigModel":
        """Rig on ``neutral`` (478, 3) canonical-frame face; default: the canonical neutral."""
        ar = authored_rig()
        n = canonical_neutral() if neutral is None else np.asarray(neutral, dtype=np.float64)
        basis = ar.static.copy()
        for c, ops in enumerate(ar.lid_ops):
            for op in ops:
                basis[c] += op @ n
        lin = np.ones(len(ar.columns), dtype=bool)
        closure_basis = basis.copy()
        for side, (op, cols) in ar.closure_ops.items():
            for c in cols:
                lin[c] = False
                closure_basis[c] += op @ n
        return cls(neutral=n, basis=basis, closure=ar.closure_ops, columns=ar.columns,
                   lin_basis=closure_basis, lin_mask=lin, interactions=ar.interactions)

    @property
    def n_columns(self) -> int:
        return len(self.columns)

    def observed(self, basis: np.ndarray) -> "RigModel":
        """This neutral with a linear (C, 478, 3) basis (no lid closure, no interactions): the
        rig's columns as an observer reports them, for measuring (:meth:`Rig.inverse`)."""
        b = np.asarray(basis, dtype=np.float64)
        if b.shape != self.basis.shape or not np.isfinite(b).all():
            raise InputError(f"observation basis must be finite {self.basis.shape}, got {b.shape}")
        return RigModel(neutral=self.neutral, basis=b, closure={}, columns=self.columns, lin_basis=b,
                        lin_mask=np.ones(self.n_columns, dtype=bool))

    def closure_amount(self, a: np.ndarray, side: str) -> np.ndarray:
        """(T, C) -> (T,) clipped closure of one eye."""
        return np.clip(a[:, self.closure[side][1]].sum(1), 0.0, 1.0)

    def shape(self, a: np.ndarray, clamp: bool = True) -> np.ndarray:
        """(T, C) AU + gaze values -> (T, 478, 3) canonical shapes (the full bilinear model);
        ``clamp``: with the physical stops (:func:`limit_upper_lip`, :func:`clamp_shape`)."""
        a = np.atleast_2d(np.asarray(a, dtype=np.float64))
        x = self.neutral[None] + np.einsum("tc,cvk->tvk", a, self.basis)
        for it in self.interactions:
            x += it.amount(a[:, it.i] * a[:, it.j])[:, None, None] * it.field
        xl = x.copy()
        for side, (op, _) in self.closure.items():
            c = self.closure_amount(a, side)
            if not np.any(c):
                continue
            mx = _apply_op(op, xl)
            x += c[:, None, None] * mx
        return clamp_shape(limit_upper_lip(x, self.neutral)) if clamp else x

    def jacobian(self, a: np.ndarray) -> np.ndarray:
        """(C,) -> (478, 3, C) derivative of :meth:`shape` (without the clamp)."""
        a = np.asarray(a, dtype=np.float64)
        j = self.basis.transpose(1, 2, 0).copy()  # (478, 3, C)
        xl = self.neutral + np.einsum("c,cvk->vk", a, self.basis)
        for it in self.interactions:
            p = a[it.i] * a[it.j]
            dh = it.slope(p)
            j[:, :, it.i] += dh * a[it.j] * it.field
            j[:, :, it.j] += dh * a[it.i] * it.field
            xl += it.amount(p) * it.field
        for side, (op, cols) in self.closure.items():
            c = float(np.clip(a[cols].sum(), 0.0, 1.0))
            if c > 0:
                j += c * (op @ j.reshape(mesh.N_LANDMARKS, -1)).reshape(j.shape)
            raw = a[cols].sum()
            if raw < 1.0:
                mx = op @ xl
                for col in cols:
                    j[:, :, col] += mx
        return j


def _apply_op(op: Any, x: np.ndarray) -> np.ndarray:
    """Sparse (478, 478) operator on (T, 478, 3) shapes."""
    t = x.shape[0]
    flat = x.transpose(1, 0, 2).reshape(mesh.N_LANDMARKS, -1)
    return np.asarray(op @ flat).reshape(mesh.N_LANDMARKS, t, 3).transpose(1, 0, 2)


CHIN_MIN_GAP = 0.25
"""Skin below the lower lip keeps at least this fraction of its canonical spacing (see
:func:`_chin_columns`), so a lower lip pulled far down compresses the skin under it, never folds
over it (a fold renders as a hard seam)."""


@functools.lru_cache(maxsize=None)
def _chin_columns() -> tuple[np.ndarray, np.ndarray]:
    """Vertex columns running down from the outer lower lip: (K, 4) vertex ids (lip, then three
    rows of skin toward the chin) and (K, 3) minimum vertical gaps (IOD), CHIN_MIN_GAP of the
    canonical spacing. From each lip vertex one column starts through every skin neighbour within
    45 degrees of straight below it (beside the corners a smile's lift raises the skin under the
    lip's lateral end more than the lip: grace_hopper's 12+25 put 106 above 91), and through the
    straightest one, then goes on by the neighbour most nearly straight below."""
    canon = canonical_neutral()
    g = _graph()  # the mesh's edge graph (CSR): neighbours of i are indices[indptr[i]:indptr[i + 1]]
    lips = set(mesh.LIPS_OUTER) | set(mesh.LIPS_INNER)

    def below(cur: int) -> list[int]:
        nbrs = g.indices[g.indptr[cur] : g.indptr[cur + 1]]
        return [int(n) for n in nbrs if canon[n, 1] < canon[cur, 1] - 1e-3 and int(n) not in lips]

    def steepness(cur: int, n: int) -> float:  # run over drop: < 1 within 45 degrees of straight down
        return abs(canon[n, 0] - canon[cur, 0]) / (canon[cur, 1] - canon[n, 1])

    def straightest(cur: int) -> int:
        return min(below(cur), key=lambda n: steepness(cur, n))

    cols = []
    for v in mesh.LIPS_OUTER_LOWER[1:-1]:
        for first in sorted({straightest(v)} | {n for n in below(v) if steepness(v, n) < 1.0}):
            col = [v, first]
            for _ in range(2):
                col.append(straightest(col[-1]))
            cols.append(col)
    ids = np.array(cols, dtype=np.int64)
    gaps = CHIN_MIN_GAP * (canon[ids[:, :-1], 1] - canon[ids[:, 1:], 1])
    return ids, gaps


# The lips' vertex rings as columns, inner lip -> outer contour (MediaPipe face mesh; the last
# column per side, at the corners, runs sideways and is left out).
UPPER_LIP_COLUMNS = ((13, 12, 11, 0), (312, 268, 302, 267), (311, 271, 303, 269), (310, 272, 304, 270),
                     (82, 38, 72, 37), (81, 41, 73, 39), (80, 42, 74, 40))
LOWER_LIP_COLUMNS = ((14, 15, 16, 17), (317, 316, 315, 314), (402, 403, 404, 405), (318, 319, 320, 321),
                     (87, 86, 85, 84), (178, 179, 180, 181), (88, 89, 90, 91))
LIP_MIN_GAP = 0.2
"""Each lip ring keeps at least this fraction of its canonical spacing from the ring inside it: a
lip pressed (AU24) or sucked in (AU28) thins to a fifth of its red, it never folds over itself."""


@functools.lru_cache(maxsize=None)
def _lip_columns(upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """(K, 4) ids and (K, 3) positive minimum gaps (IOD) of the upper or lower lip columns."""
    ids = np.array(UPPER_LIP_COLUMNS if upper else LOWER_LIP_COLUMNS, dtype=np.int64)
    y = canonical_neutral()[ids, 1]
    return ids, LIP_MIN_GAP * np.abs(np.diff(y, axis=1))


def _push_columns(x: np.ndarray, ids: np.ndarray, gaps: np.ndarray, up: bool) -> None:
    """In place on (T, 478, 3), y up: each column vertex stays at least its gap beyond the one
    before it, outward from the first (so a pushed row pushes the next)."""
    y = x[..., 1].T  # (478, T) view: ufunc.at keeps the tightest bound where columns share a vertex
    for k in range(ids.shape[1] - 1):
        prev = y[ids[:, k]]
        if up:
            np.maximum.at(y, ids[:, k + 1], prev + gaps[:, k, None])
        else:
            np.minimum.at(y, ids[:, k + 1], prev - gaps[:, k, None])


ABOVE_LIP_MIN_GAP = 0.3
"""The skin between the nose and cheeks and the upper lip keeps at least this fraction of its
canonical height (:data:`SKIN_ABOVE_LIP`): a raised upper lip (AU10 on an open smile) shortens
the philtrum and compresses the skin beside it, it never rises over that skin into the nose
(grace_hopper's 10+12+25 folded 400 px^2 of skin there)."""

# The skin above each of UPPER_LIP_COLUMNS' outer vertices (same order), downward: from the nose's
# base, or beside the corners from the cheek above the nasolabial fold (MediaPipe face mesh).
SKIN_ABOVE_LIP = ((2, 164), (326, 393), (327, 391), (426, 322), (97, 167), (98, 165), (206, 92))


@functools.lru_cache(maxsize=None)
def _above_lip_columns() -> tuple[np.ndarray, np.ndarray]:
    """(K, 6) ids from the skin above down through the red of the upper lip to its inner edge
    (:data:`SKIN_ABOVE_LIP` then :data:`UPPER_LIP_COLUMNS` reversed) and (K, 5) positive minimum gaps
    (IOD): :data:`ABOVE_LIP_MIN_GAP` of the canonical spacing over the skin, the lip's own
    (:func:`_lip_columns`) over its red."""
    lip, lip_gaps = _lip_columns(upper=True)  # inner lip -> outer border
    skin = np.array(SKIN_ABOVE_LIP, dtype=np.int64)
    ids = np.hstack([skin, lip[:, ::-1]])
    skin_gaps = ABOVE_LIP_MIN_GAP * np.abs(np.diff(canonical_neutral()[ids[:, :3], 1], axis=1))
    return ids, np.hstack([skin_gaps, lip_gaps[:, ::-1]])


GUM_LINE = (0.135, 0.18)
"""The upper teeth's gum line, IOD above the resting lips' contact line: (height at the midline,
rise per squared IOD sideways), i.e. 0.135 + 0.18 x^2 (the gingival zeniths' smile arc). The
midline height is the visible crown of the upper central incisor (~10.5 mm) less the ~2 mm it shows
below the resting upper lip (Vig & Brundo, "The kinetics of anterior tooth display", J. Prosthet.
Dent. 39(5), 1978), over an IOD of ~63 mm. render/mouth.py draws its teeth to the same line
(its arc is this one, mouth.GUM_ARC; its height MouthStyle.upper_height - upper_drop, which a
test keeps equal to this one's)."""
UPPER_LIP_OVER_GUM = 0.03
"""How far (IOD, ~2 mm) above the gum line the inner upper lip can rise. At a maximal smile
about 70 % of people show the crowns and only the papillae, 10 % a band of gum (Tjan, Miller & The,
"Some esthetic factors in a smile", J. Prosthet. Dent. 51(1), 1984): a strong upper-lip raiser
(AU10) on a broad open smile (12+25) bares a sliver of gum, not the 0.10-0.14 IOD the three AUs'
lifts add up to."""
UPPER_LIP_SOFT = 0.05
"""Width (IOD) of the soft stop: the lift is exact up to this far below its limit (soft_limit)."""
UPPER_LIP_STOP_COLUMNS = UPPER_LIP_COLUMNS + ((191, 183, 184, 185), (415, 407, 408, 409))
"""The upper lip's columns, inner edge -> outer border (:data:`UPPER_LIP_COLUMNS` and, beside the
corners, the two that run sideways; MediaPipe face mesh): the inner edge stops, the rest follows."""
UPPER_LIP_STOP_CARRY = 0.6
"""Fraction of the inner edge's stop the lip's outer border takes (the rings between: linearly): the
stopped lip everts a little, its red thickening from the squeezed height it had at full lift."""


def limit_upper_lip(x: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """(T, 478, 3) canonical shapes on ``neutral`` (478, 3), y up -> the same with the inner upper
    lip's lift above its place on ``neutral`` softly stopped :data:`UPPER_LIP_OVER_GUM` above the
    gum line (:data:`GUM_LINE`, from ``neutral``'s contact line, :func:`soft_limit` over
    :data:`UPPER_LIP_SOFT`). The lip's other rings come down with it (:data:`UPPER_LIP_STOP_CARRY`).
    Lifts at or below 0 are kept exactly (a ``neutral`` with parted lips: :meth:`Rig.forward` with
    ``relative=False``)."""
    cols = np.array(UPPER_LIP_STOP_COLUMNS, dtype=np.int64)
    ids = cols[:, 0]
    rest = neutral[ids, 1]
    contact = 0.5 * (neutral[13] + neutral[14])
    top = contact[1] + GUM_LINE[0] + GUM_LINE[1] * (neutral[ids, 0] - contact[0]) ** 2 + UPPER_LIP_OVER_GUM
    knee = np.maximum(top - rest - UPPER_LIP_SOFT, 0.0)
    lift = x[:, ids, 1] - rest
    stop = lift - soft_limit(lift, knee, knee + UPPER_LIP_SOFT)  # (T, K) >= 0
    if not np.any(stop > 0):
        return x
    carry = np.linspace(1.0, UPPER_LIP_STOP_CARRY, cols.shape[1])
    x = x.copy()
    x[:, cols, 1] -= stop[:, :, None] * carry
    return x


def clamp_shape(x: np.ndarray) -> np.ndarray:
    """(T, 478, 3) canonical shapes: upper lids never below lower lids (the upper lid stops on the
    lower one); inner lips never cross (both meet at their mean height); the lips' rings never fold
    over each other (:data:`LIP_MIN_GAP`); the upper lip stays below the skin above it
    (:data:`ABOVE_LIP_MIN_GAP`) and the skin under the lower lip below the lower lip
    (:data:`CHIN_MIN_GAP`)."""
    x = x.copy()
    for pairs in (LEFT_LID_PAIRS, RIGHT_LID_PAIRS):
        u, l = np.array(pairs).T
        x[:, u, 1] = np.maximum(x[:, u, 1], x[:, l, 1])
    u, l = np.array(LIP_PAIRS).T
    mid = 0.5 * (x[:, u, 1] + x[:, l, 1])
    cross = x[:, u, 1] < x[:, l, 1]
    x[:, u, 1] = np.where(cross, mid, x[:, u, 1])
    x[:, l, 1] = np.where(cross, mid, x[:, l, 1])
    _push_columns(x, *_lip_columns(True), up=True)
    _push_columns(x, *_lip_columns(False), up=False)
    _push_columns(x, *_above_lip_columns(), up=False)  # after the lip's own rings: the skin above wins
    ids, gaps = _chin_columns()
    _push_columns(x, ids, gaps, up=False)
    return x


# ----------------------------------------------------------------------------------------------
# Measurement for neutralisation
# ----------------------------------------------------------------------------------------------
def _mouth_measures(x: np.ndarray) -> np.ndarray:
    """(..., 478, 3) -> (..., 7): corner heights above the stomion (outer L, outer R, inner L,
    inner R) and inner-lip gaps (middle, left, right), IOD units, y up."""
    y = x[..., 1]
    stom = 0.5 * (y[..., 13] + y[..., 14])
    return np.stack([
        y[..., 291] - stom, y[..., 61] - stom, y[..., 308] - stom, y[..., 78] - stom,
        y[..., 13] - y[..., 14], y[..., 312] - y[..., 317], y[..., 82] - y[..., 87],
    ], axis=-1)


def estimate_own_aus(shape: np.ndarray, model: RigModel) -> dict[str, float]:
    """Own mouth AUs of a canonical-frame face (478, 3) (see the module docstring)."""
    from scipy.optimize import lsq_linear

    cols = [model.columns.index(c) for c in NEUTRALISE_AUS]
    target = np.array([NEUTRAL_CORNER_OFFSET] * 4 + [0.0] * 3)
    m = _mouth_measures(np.asarray(shape, dtype=np.float64)) - target
    j = np.stack([_mouth_measures(model.basis[c]) for c in cols], axis=1)  # fields are displacements
    reach = np.abs(j).max(axis=0)  # (A,) IOD: the most any measure moves per unit of each AU
    # small ridge; larger on AU26 and AU27 so parted lips are read as AU25 (FACS: lips part) and the
    # jaw only carries the opening AU25 cannot (a smile with teeth is 12+25, not a jaw drop)
    ridge = {"AU25": OWN_PARTING_RIDGE, "AU26": OWN_JAW_RIDGE, "AU27": OWN_STRETCH_RIDGE}
    lam = np.array([ridge.get(c, 1e-3) for c in NEUTRALISE_AUS])
    a_mat = np.vstack([j, np.diag(np.sqrt(lam))])
    b = np.r_[m, np.zeros(len(cols))]
    sol = lsq_linear(a_mat, b, bounds=(0.0, 1.0)).x
    pos = {c: k for k, c in enumerate(cols)}
    bil = [(pos[it.i], pos[it.j], _mouth_measures(it.field), it) for it in model.interactions
           if it.i in pos and it.j in pos]
    if np.isfinite(sol).all():  # the bilinear terms among these AUs (AU12 x AU25), from the linear
        # solution; AUs that it left off stay off (else AU15 could cancel an AU12 whose lip lift
        # explains a jaw drop: a wide-open mouth read as 12+15+25+26). AUs the fit leaves too weak
        # to count are dropped and the rest refitted, so the share they carried is not lost
        # (zeroed after the fit, AU26 0.04 + AU27 0.02 left bald_guys_17's lips 0.015 IOD apart)
        active = np.flatnonzero(sol * reach >= NEUTRALISE_MIN)
        for _ in range(len(cols)):
            sol = _own_bilinear(a_mat, b, bil, sol, active)
            kept = active[sol[active] * reach[active] >= NEUTRALISE_MIN]
            if len(kept) == len(active):
                break
            active = kept
    sol[sol * reach < NEUTRALISE_MIN] = 0.0
    return {c: float(v) for c, v in zip(NEUTRALISE_AUS, sol)}


def _own_bilinear(a_mat: np.ndarray, b: np.ndarray, bil: list[tuple[int, int, np.ndarray, Interaction]],
                  a0: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Bounded least squares ``a_mat a + sum h_ik(a_i a_k) m_ik ~ b`` over [0, 1] in the ``active``
    columns (indices), the others 0 (``a_mat``: the measures' rows first, then the ridge rows;
    ``bil``: (i, k, measures m_ik, the Interaction giving h_ik)), from ``a0``: a trust-region fit
    with the exact Jacobian."""
    from scipy.optimize import least_squares

    out = np.zeros_like(a0)
    if not len(active):
        return out
    pos = {int(c): k for k, c in enumerate(active)}
    terms = [(pos[i], pos[k], mik, it) for i, k, mik, it in bil if i in pos and k in pos]  # others are 0
    sub = a_mat[:, active]
    n_m = a_mat.shape[0] - a_mat.shape[1]  # the measures' rows (one ridge row per column follows)

    def resid(a: np.ndarray) -> np.ndarray:
        r = sub @ a - b
        for i, k, mik, it in terms:
            r[:n_m] += it.amount(a[i] * a[k]) * mik
        return r

    def jac(a: np.ndarray) -> np.ndarray:
        jm = sub.copy()
        for i, k, mik, it in terms:
            dh = it.slope(a[i] * a[k])
            jm[:n_m, i] += dh * a[k] * mik
            jm[:n_m, k] += dh * a[i] * mik
        return jm

    out[active] = least_squares(resid, np.clip(a0[active], 0.0, 1.0), jac=jac, bounds=(0.0, 1.0), xtol=1e-10).x
    return out


def own_displacement(model: RigModel, own_aus: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The portrait's own AUs on ``model`` (its face as photographed): the (C,) column values and
    the (478, 3) displacement they make there (sum own_k B_k plus the interaction terms), which
    neutralisation removes."""
    own = np.zeros(model.n_columns)
    for c, v in own_aus.items():
        own[model.columns.index(c)] = v
    return own, model.shape(own[None], clamp=False)[0] - model.neutral


def _mouth_width(x: np.ndarray) -> float:
    """Outer lip corner to corner (61-291) along x, IOD, of a canonical-frame face (478, 3)."""
    return float(x[291, 0] - x[61, 0])


def smile_width_adjustment(shape: np.ndarray, removed: np.ndarray, own: np.ndarray, model: RigModel) -> np.ndarray:
    """(478, 3): the sideways AU12 pull that neutralisation gives back (closed smiles) or removes
    beyond the own AU12 (open smiles), so that the neutral mouth comes as near a resting width (the
    canonical face's, 0.816 IOD) as the AU12 field's sideways part allows.

    Closed smiles: the rig's AU12 widens the mouth 2.3 IOD per IOD the corners rise, as open smiles
    in photos do (2.0), but closed smiles hardly widen it (0.35). Over 57 registry faces, 15 closed
    smiles (own AU12 0.15-0.5) are 0.820 IOD wide, 16 faces at rest 0.802 (sd 0.057); removing
    AU12's whole field narrowed the closed smiles to 0.731, a pinched mouth. So, as far as the lips
    are closed (inner-lip gap under :data:`LIPS_APART_GAP`), the x part of the AU12 fields is
    removed only while the mouth stays as wide as a resting mouth: the least fraction that keeps
    that width is given back (closed smiles 0.731 -> 0.804, sd 0.015).

    Open smiles: since the AU12 x AU25 term lifts the corners, own AU12 reads lower on open smiles
    (0.53 on 22 registry faces) than their width says: with only that much pull removed, they
    neutralised 0.867 wide (sd 0.081) against 0.792 at rest. So, as far as the lips are apart, more
    of the AU12 fields' x part is removed while the mouth stays wider than a resting one: at most as
    much again as the own AU12's (each side ``min(own, 1 - own)``), so a face with no smile keeps
    its width and none loses more than a full AU12's pull.

    A mouth is never made wider than the photo's.

    shape: (478, 3) the photo's canonical face; removed: (478, 3) the displacement of all its own
    AUs (:func:`own_displacement`); own: (C,) the own-AU intensities in model columns.
    """
    cols = [model.columns.index(c) for c in SMILE_WIDTH_AUS]
    x_only = np.array([1.0, 0.0, 0.0])
    closed = float(np.clip(1.0 - (shape[13, 1] - shape[14, 1]) / LIPS_APART_GAP, 0.0, 1.0))
    w_full = _mouth_width(shape - removed)  # every own AU removed, none of the width kept
    rest_w = _mouth_width(canonical_neutral())
    if w_full < rest_w:  # give back the removed pull, as far as the lips are closed
        pull = np.einsum("c,cvk->vk", own[cols], model.basis[cols]) * x_only
        frac, weight = (rest_w - w_full) / max(_mouth_width(pull), 1e-9), closed
    else:  # remove the pull the own AU12 left, as far as the lips are apart
        more = np.minimum(own[cols], 1.0 - own[cols])  # at most as much again, never past a full AU12
        pull = -np.einsum("c,cvk->vk", more, model.basis[cols]) * x_only
        frac, weight = (w_full - rest_w) / max(-_mouth_width(pull), 1e-9), 1.0 - closed
    return weight * min(frac, 1.0) * pull


# ----------------------------------------------------------------------------------------------
# Pose helpers
# ----------------------------------------------------------------------------------------------
def _fit_pose_2d(model: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled orthographic fit obs (T, N, 2) ~ s * R[:2] @ model (T, N, 3) + t, batched.

    Affine camera by weighted least squares, then the nearest scaled pair of orthonormal rows.
    Returns s (T,), R (T, 3, 3), t (T, 2).
    """
    t_n = model.shape[0]
    ph = np.concatenate([model, np.ones(model.shape[:2] + (1,))], axis=2)  # (T, N, 4)
    wp = ph * w[None, :, None]
    lhs = np.einsum("tni,tnj->tij", wp, ph) + 1e-9 * np.eye(4)
    rhs = np.einsum("tni,tnk->tik", wp, obs)
    sol = np.linalg.solve(lhs, rhs)  # (T, 4, 2)
    m = sol[:, :3, :].transpose(0, 2, 1)  # (T, 2, 3)
    u, sig, vt = np.linalg.svd(m, full_matrices=False)
    r2 = u @ vt  # (T, 2, 3) orthonormal rows
    s = sig.mean(1)
    r3 = np.cross(r2[:, 0], r2[:, 1])
    rot = np.concatenate([r2, r3[:, None, :]], axis=1)
    t = sol[:, 3, :] + 0.0
    # translation consistent with the rounded camera: t = mean(obs - s R model) (weighted)
    pred = s[:, None, None] * np.einsum("tij,tnj->tni", r2, model)
    t = np.einsum("n,tnk->tk", w / w.sum(), obs - pred)
    return s, rot, t


# ----------------------------------------------------------------------------------------------
# The rig on one portrait
# ----------------------------------------------------------------------------------------------
class Rig:
    """The FACS rig bound to one portrait (identity kept, pose known).

    ``Rig(portrait)`` or ``Rig.from_landmarks(landmarks)``; ``Rig.canonical()`` for a portrait-free
    rig on the canonical face (tests, measuring without a source image).

    Attributes:
        channels: the rig channels (``thinkdraw.motion.rig_channels()``), D = 41.
        own_aus: {channel: intensity} estimated on the portrait (mouth AUs, see module docstring).
        neutral_landmarks: (478, 3) pixel landmarks of the neutralised portrait.
        portrait_landmarks: (478, 3) the portrait's own landmarks (pixels).
        source_landmarks: (478, 3) those, with skin hidden under an everted lower lip moved out
            from under it as the rig's targets move it: where a renderer samples the photo.
        model / model_raw: canonical :class:`RigModel` on the neutralised / the photo's own face.
    """

    channels: tuple[str, ...] = rig_channels()

    def __init__(self, portrait: Any = None, *, landmarks: np.ndarray | None = None,
                 neutralise: bool = True) -> None:
        if landmarks is None:
            if portrait is None:
                raise InputError("Rig needs a Portrait or landmarks")
            landmarks = portrait.landmarks
        lm = np.asarray(landmarks, dtype=np.float64)
        if lm.shape != (mesh.N_LANDMARKS, 3):
            raise InputError(f"rig landmarks must be (478, 3) pixels, got {lm.shape}")
        self.portrait_landmarks = lm
        cam = geometry.pixel_to_camera(lm)
        canon = canonical_neutral()
        anchors = list(RIG_ANCHORS)
        s0, r0, t0 = geometry.similarity_fit(canon[anchors], cam[anchors])
        self.s0 = float(s0)
        self.r0 = r0
        self.euler0 = np.array(geometry.matrix_to_euler(r0), dtype=np.float64)
        self.r0 = geometry.euler_to_matrix(*self.euler0)  # exactly the Euler round trip
        shape = geometry.undo_similarity(cam, self.s0, self.r0, t0)  # the photo's face, canonical
        self.model_raw = RigModel.build(shape)
        self.own_aus = estimate_own_aus(shape, self.model_raw) if neutralise else {c: 0.0 for c in NEUTRALISE_AUS}
        own, removed = own_displacement(self.model_raw, self.own_aus)
        width = smile_width_adjustment(shape, removed, own, self.model_raw)
        neutral = clamp_shape((shape - removed + width)[None])[0]
        self.model = RigModel.build(neutral)
        ar = authored_rig()
        self.pivot = ar.head_pivot
        self.t_pivot = t0 + self.s0 * self.r0 @ self.pivot  # camera-frame position of the pivot
        w_can = np.linalg.norm(canon[454] - canon[234])
        self.face_width = float(self.s0 * w_can)  # frontal face width in pixels
        self.neutral_landmarks = self._to_pixels(neutral[None], np.zeros((1, 6)))[0]
        self.source_landmarks = self._unfolded(shape, lm)
        n_au = len(au_channels())
        self._au_slice = slice(0, n_au)
        self._pose_slice = slice(n_au, n_au + len(POSE_CHANNELS))
        self._gaze_slice = slice(n_au + len(POSE_CHANNELS), len(self.channels))
        self._basis_cols = np.r_[np.arange(n_au), np.arange(self._gaze_slice.start, self._gaze_slice.stop)]
        self._own_vec = np.zeros(len(self.channels))
        for c, v in self.own_aus.items():
            self._own_vec[self.channels.index(c)] = v

    def _unfolded(self, shape: np.ndarray, lm: np.ndarray) -> np.ndarray:
        """The portrait's (478, 3) pixel landmarks with the skin under the lower lip where
        :func:`clamp_shape` puts it on the canonical ``shape`` (478, 3) (:data:`CHIN_MIN_GAP` below
        the lip), as on every target of this rig. On a photo whose everted lower lip hides the skin
        under it, MediaPipe puts that skin row (18, 83, 313) above the lip's border (17): the
        photo's own triangles there are inverted, and a target that shows the skin again sampled
        the lip (a rippled pink blob under a closed mouth)."""
        clamped = shape[None].copy()
        _push_columns(clamped, *_chin_columns(), up=False)
        moved = np.any(np.abs(clamped[0] - shape) > 1e-9, axis=1)
        out = lm.copy()
        if moved.any():
            out[moved] = self._to_pixels(clamped, np.zeros((1, 6)))[0][moved]
        return out

    # -- construction helpers -------------------------------------------------------------
    @classmethod
    def from_portrait(cls, portrait: Any, neutralise: bool = True) -> "Rig":
        return cls(portrait, neutralise=neutralise)

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, neutralise: bool = True) -> "Rig":
        return cls(landmarks=landmarks, neutralise=neutralise)

    @classmethod
    def canonical(cls, iod_px: float = 100.0, centre: tuple[float, float] = (256.0, 256.0)) -> "Rig":
        """A rig on the canonical neutral face drawn frontal, ``iod_px`` pixels between the eyes,
        eye midpoint at ``centre`` (pixels)."""
        p = canonical_neutral() * iod_px
        px = geometry.camera_to_pixel(p)
        px[:, 0] += centre[0]
        px[:, 1] += centre[1]
        return cls(landmarks=px, neutralise=False)

    # -- parameters -----------------------------------------------------------------------
    def params_matrix(self, params: ParamsLike) -> np.ndarray:
        """dict / (D,) / (T, D) -> (T, D) float64. Raises InputError on a wrong shape."""
        if isinstance(params, Mapping):
            return params_to_vector(params)[None].astype(np.float64)
        arr = np.asarray(params, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != len(self.channels):
            raise InputError(f"rig parameters must be (D,) or (T, D) with D={len(self.channels)}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InputError("rig parameters must be finite numbers (got NaN or inf)")
        return arr

    def eye_closure(self, params: ParamsLike) -> np.ndarray:
        """(T, 2) closure in [0, 1] of the person's (left, right) eye: AU43 + AU45L/R, clipped
        (1 = lids meet).  For renderers that draw eyelids."""
        a = self.params_matrix(params)[:, self._basis_cols]
        return np.stack([self.model.closure_amount(a, "L"), self.model.closure_amount(a, "R")], axis=1)

    # -- forward --------------------------------------------------------------------------
    def forward_canonical(self, params: ParamsLike, relative: bool = True) -> np.ndarray:
        """Params -> (T, 478, 3) canonical-frame shapes (no pose)."""
        p = self.params_matrix(params)
        a = p[:, self._basis_cols]
        lo, hi = _bounds(self.model)
        a = apply_alternatives(np.clip(a, lo, hi), self.model.columns)  # AUs in [0, 1], gaze in [-1, 1]
        if relative:
            return self.model.shape(a)
        return self.model_raw.shape(a)

    def forward(self, params: ParamsLike, relative: bool = True) -> np.ndarray:
        """Rig parameters -> (T, 478, 3) pixel landmarks on this portrait (x right, y down, z).

        params: {channel: value}, (D,) or (T, D) in ``thinkdraw.motion`` order and units; AU
        values are clipped to [0, 1] and gaze to [-1, 1] (pose is not limited); of two codes for one
        motion (rig.yaml ``alternatives``: AU26 and AU27) the larger sets the motion.
        relative: True = AU targets on the neutralised face (the photo's own smile removed);
        False = displacements added to the photo's face as it is.
        """
        p = self.params_matrix(params)
        shapes = self.forward_canonical(p, relative=relative)
        return self._to_pixels(shapes, p[:, self._pose_slice])

    def _to_pixels(self, shapes: np.ndarray, pose: np.ndarray) -> np.ndarray:
        yaw, pitch, roll, tx, ty, sc = (pose[:, i] for i in range(6))
        rot = geometry.euler_to_matrix(self.euler0[0] + yaw, self.euler0[1] + pitch, self.euler0[2] + roll)
        s = self.s0 * np.exp(sc)
        t = self.t_pivot[None] + self.face_width * np.stack([tx, -ty, np.zeros_like(tx)], axis=1)
        cam = geometry.apply_similarity(shapes - self.pivot, s, rot, t)
        return geometry.camera_to_pixel(cam)

    # -- inverse --------------------------------------------------------------------------
    def inverse(self, landmarks: np.ndarray, neutral: np.ndarray | None = None, relative: bool = True,
                config: "InverseConfig | None" = None, observation: np.ndarray | None = None,
                **overrides: Any) -> np.ndarray:
        """Pixel landmarks (T, 478, 2|3) (or (478, C)) -> (T, D) float32 rig parameters.

        neutral: optional (478, 3) pixel landmarks of the same face at rest (e.g. the first frame of
        a video, or a re-detected neutral render) used as the reference instead of this rig's
        neutralised portrait; pose channels are then relative to the reference's pose.
        relative: with the default reference, measure against the neutralised face (True) or the
        photo's own face (False).  config / overrides: :class:`InverseConfig` fields.
        observation: optional (C, 478, 3) canonical-frame displacement of each basis column (AU
        channels, then gaze_h, gaze_v) at 1.0 as a landmark detector reports it, used as a linear
        basis instead of the rig's authored fields (see :mod:`thinkdraw.eval.observation`).
        """
        cfg = dataclasses.replace(config or InverseConfig(), **overrides)
        lm = np.asarray(landmarks, dtype=np.float64)
        if lm.ndim == 2:
            lm = lm[None]
        if lm.ndim != 3 or lm.shape[1] != mesh.N_LANDMARKS or lm.shape[2] not in (2, 3):
            raise InputError(f"landmarks must be (T, 478, 2|3), got {lm.shape}")
        if neutral is not None:
            nl = np.asarray(neutral, dtype=np.float64)
            if nl.shape != (mesh.N_LANDMARKS, 3):
                raise InputError(f"neutral must be (478, 3) pixel landmarks, got {nl.shape}")
            ref = Rig(landmarks=nl, neutralise=False)
            return ref.inverse(lm, relative=False, config=cfg, observation=observation)
        if lm.shape[2] == 3 and not cfg.use_z:
            lm = lm[..., :2]
        model = self.model if relative else self.model_raw
        if observation is not None:
            model = model.observed(observation)
        with _single_thread_blas():
            return _invert(self, model, lm, cfg)


@dataclass
class InverseConfig:
    """Settings of :meth:`Rig.inverse`."""

    rounds: int = 3  # pose / AU alternations (the first pose fit uses stable anchors only)
    sparsity: float = 0.0  # L1 weight on AU intensities, as the intensity an isolated AU loses
    z_weight: float = Z_WEIGHT  # weight of z residuals for 3D input (MediaPipe depth is noisier)
    use_z: bool = True  # False: use only x, y of 3D input (scaled-orthographic pose)
    gauss_newton_steps: int = 3  # refinement steps of the bilinear eyelid closure (if no joint)
    joint_steps: int = 3  # final Gauss-Newton steps over AUs, gaze AND pose together (0 = off)
    exclusive: bool = True  # antagonist pairs of rig.yaml never both active (weaker one set to 0)
    greedy_tol: float = 0.0  # > 0: greedy sparse solve (matching pursuit), stop below this gain
    greedy_max: int = 8  # most AUs the greedy solve activates per frame
    exclusive_min: float = 0.03  # both above this = a conflict to resolve


def _single_thread_blas():
    """Small per-frame solves are much faster on one BLAS thread (no oversubscription)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# ----------------------------------------------------------------------------------------------
# Inverse core
# ----------------------------------------------------------------------------------------------
def _solver_3d(model: RigModel, z_weight: float) -> dict[str, np.ndarray]:
    """Pre-factored normal equations of the shared 3D design (canonical frame)."""
    key = f"solver3d_{z_weight}"
    cache = model.cache
    if key not in cache:
        wk = coordinate_weights(z_weight)
        a_mat = model.lin_basis.reshape(model.n_columns, -1).T * wk[:, None]  # (478*3, C)
        gram = a_mat.T @ a_mat + 1e-6 * np.eye(model.n_columns)
        cache[key] = {"A": a_mat, "wk": wk, "gram": gram, "L": np.linalg.cholesky(gram)}
    return cache[key]


def coordinate_weights(z_weight: float = Z_WEIGHT) -> np.ndarray:
    """(478 * 3,) square roots of the 3D inverse's weight on each landmark coordinate (x, y, z per
    point: the vertex weight, z further scaled by ``z_weight``), in the order of a flattened (478, 3)."""
    return np.sqrt(np.repeat(_vertex_weights(), 3) * np.tile([1.0, 1.0, z_weight], mesh.N_LANDMARKS))


@functools.lru_cache(maxsize=None)
def _vertex_weights() -> np.ndarray:
    w = np.ones(mesh.N_LANDMARKS)
    w[list(mesh.IRISES)] = 2.0  # irises carry the gaze
    return w


def _bounds(model: RigModel) -> tuple[np.ndarray, np.ndarray]:
    lo = np.zeros(model.n_columns)
    hi = np.ones(model.n_columns)
    for c in GAZE_CHANNELS:
        lo[model.columns.index(c)] = -1.0
    return lo, hi


def _penalty(model: RigModel, gram: np.ndarray, sparsity: float) -> np.ndarray:
    """L1 weights: sparsity * diag(gram) on AU columns (so an isolated AU loses ``sparsity`` of
    intensity), none on the signed gaze columns."""
    pen = sparsity * np.diag(gram).copy()
    for c in GAZE_CHANNELS:
        pen[model.columns.index(c)] = 0.0
    return pen


def _bounded_solve(a_mat: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   gram: np.ndarray | None = None, chol: np.ndarray | None = None,
                   penalty: np.ndarray | float = 0.0) -> np.ndarray:
    """min 0.5 ||a_mat x - b||^2 + penalty . x  s.t. lo <= x <= hi.

    With gram = A^T A = L L^T the problem is the K x K least squares ||L^T x - L^-1 (A^T b - p)||
    (same minimiser), solved by bounded-variable least squares (Stark & Parker 1995)."""
    from scipy.linalg import solve_triangular
    from scipy.optimize import lsq_linear

    if gram is None or chol is None:
        gram = a_mat.T @ a_mat + 1e-6 * np.eye(a_mat.shape[1])
        chol = np.linalg.cholesky(gram)
    atb = a_mat.T @ b - penalty
    fixed = hi <= lo
    if fixed.any():  # columns pinned to a value: solve the reduced problem
        free = ~fixed
        x = lo.astype(np.float64).copy()
        g_ff = gram[np.ix_(free, free)]
        rhs_f = atb[free] - gram[np.ix_(free, fixed)] @ x[fixed]
        x[free] = _bounded_solve_normal(g_ff, rhs_f, lo[free], hi[free])
        return x
    x = np.linalg.solve(gram, atb)
    if np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9):
        return x
    rhs = solve_triangular(chol, atb, lower=True)
    return lsq_linear(chol.T, rhs, bounds=(lo, hi), method="bvls", tol=1e-10).x


def _bounded_solve_normal(gram: np.ndarray, atb: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """min 0.5 x^T G x - atb . x within bounds (G positive definite); hi <= lo pins a column."""
    from scipy.linalg import solve_triangular
    from scipy.optimize import lsq_linear

    fixed = hi <= lo
    if fixed.any():
        free = ~fixed
        x = lo.astype(np.float64).copy()
        if free.any():
            x[free] = _bounded_solve_normal(gram[np.ix_(free, free)],
                                            atb[free] - gram[np.ix_(free, fixed)] @ x[fixed], lo[free], hi[free])
        return x
    x = np.linalg.solve(gram, atb)
    if np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9):
        return x
    chol = np.linalg.cholesky(gram)
    rhs = solve_triangular(chol, atb, lower=True)
    return lsq_linear(chol.T, rhs, bounds=(lo, hi), method="bvls", tol=1e-10).x


def _greedy_solve(model: RigModel, gram: np.ndarray, atb: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  cfg: InverseConfig) -> np.ndarray:
    """Greedy sparse bounded solve of min 0.5 x^T G x - atb . x (matching pursuit with
    re-fitting, as orthogonal matching pursuit, Pati et al. 1993): the gaze columns are always
    active; AU columns are added one at a time, each time the one whose addition (with a bounded
    re-fit of all active columns) lowers the objective most, until the gain is below greedy_tol."""
    k = len(atb)
    gaze = [model.columns.index(c) for c in GAZE_CHANNELS]
    active = list(gaze)
    x = np.zeros(k)

    def fit(cols: list[int]) -> tuple[np.ndarray, float]:
        idx = np.array(cols)
        sol = _bounded_solve_normal(gram[np.ix_(idx, idx)], atb[idx], lo[idx], hi[idx])
        return sol, float(0.5 * sol @ gram[np.ix_(idx, idx)] @ sol - atb[idx] @ sol)

    sol, best = fit(active)
    x[active] = sol
    for _ in range(cfg.greedy_max):
        cand = [c for c in range(k) if c not in active and hi[c] > lo[c]]
        if not cand:
            break
        # quick screen: the gain of each candidate alone against the current residual
        grad = atb - gram @ x
        gain = np.where(np.isin(np.arange(k), cand), np.maximum(grad, 0.0) ** 2 / np.diag(gram), -1.0)
        top = np.argsort(gain)[::-1][:4]
        trials = [(fit(active + [int(c)]), int(c)) for c in top if gain[c] > 0]
        if not trials:
            break
        (sol_c, obj_c), c_best = min(trials, key=lambda e: e[0][1])
        if best - obj_c < cfg.greedy_tol:
            break
        active.append(c_best)
        best = obj_c
        x[:] = 0.0
        x[active] = sol_c
    return x


def _invert(rig: Rig, model: RigModel, lm: np.ndarray, cfg: InverseConfig) -> np.ndarray:
    t_n, _, dim = lm.shape
    cam = lm.copy()
    cam[..., 1] *= -1.0
    if dim == 3:
        cam[..., 2] *= -1.0
    lo, hi = _bounds(model)
    w_anchor = np.zeros(mesh.N_LANDMARKS)
    w_anchor[list(RIG_ANCHORS)] = 1.0
    w_all = np.zeros(mesh.N_LANDMARKS)
    w_all[: mesh.N_MESH] = 1.0
    w_all[list(RIG_ANCHORS)] = ANCHOR_EXTRA_WEIGHT
    a = np.zeros((t_n, model.n_columns))
    shapes = np.broadcast_to(model.neutral, (t_n, mesh.N_LANDMARKS, 3)).copy()
    solver = _solver_3d(model, cfg.z_weight) if dim == 3 else None
    rounds = max(1, cfg.rounds)
    for rnd in range(rounds):
        w = w_anchor if rnd == 0 else w_all
        if solver is not None:
            sel = np.nonzero(w)[0]
            s, r, t = geometry.similarity_fit(shapes[:, sel], cam[:, sel], w[sel])
            can = geometry.undo_similarity(cam, s, r, t)
            d = (can - model.neutral[None]).reshape(t_n, -1) * solver["wk"][None]
            pen = _penalty(model, solver["gram"], cfg.sparsity)
            free = np.linalg.solve(solver["gram"], (solver["A"].T @ d.T - pen[:, None])).T  # (T, C)
            ok = np.all((free >= lo - 1e-9) & (free <= hi + 1e-9), axis=1)
            if cfg.greedy_tol > 0:
                atb_all = solver["A"].T @ d.T - pen[:, None]
                for i in range(t_n):
                    a[i] = _greedy_solve(model, solver["gram"], atb_all[:, i], lo, hi, cfg)
            else:
                a[ok] = free[ok]
                for i in np.nonzero(~ok)[0]:
                    a[i] = _bounded_solve(solver["A"], d[i], lo, hi, solver["gram"], solver["L"], pen)
        else:
            s, r, t = _fit_pose_2d(shapes, cam, w)
            for i in range(t_n):
                proj = s[i] * r[i, :2]  # (2, 3)
                a_mat = np.einsum("ij,cvj->vic", proj, model.lin_basis).reshape(-1, model.n_columns)
                b = (cam[i] - (model.neutral @ proj.T + t[i])).reshape(-1)
                gram = a_mat.T @ a_mat + 1e-6 * np.eye(model.n_columns)
                if cfg.greedy_tol > 0:
                    a[i] = _greedy_solve(model, gram, a_mat.T @ b - _penalty(model, gram, cfg.sparsity), lo, hi, cfg)
                    continue
                a[i] = _bounded_solve(a_mat, b, lo, hi, gram, np.linalg.cholesky(gram),
                                      _penalty(model, gram, cfg.sparsity))
        hi_t = np.broadcast_to(hi, a.shape).copy()  # per-frame upper bounds (antagonists pruned)
        if cfg.exclusive:
            a, hi_t = _prune_antagonists(model, a, cam, s, r, t, dim, lo, hi, cfg, solver)
        if rnd == rounds - 1 and cfg.joint_steps > 0:
            if dim == 2:
                t = np.concatenate([t, np.zeros((t_n, 1))], axis=1)
            for i in range(t_n):
                a[i], s[i], r[i], t[i] = _joint_refine(model, a[i], cam[i], s[i], r[i], t[i], dim, lo, hi_t[i], cfg)
            return _assemble(rig, model, a, s, r, t)
        if rnd == rounds - 1 and cfg.gauss_newton_steps > 0:
            # Gauss-Newton on the bilinear closure term for frames with closed-ish eyes
            closing = np.zeros(t_n, dtype=bool)
            for _, cols in model.closure.values():
                closing |= a[:, cols].sum(1) > 0.02
            for i in np.nonzero(closing)[0]:
                a[i] = _gauss_newton(model, a[i], cam[i], s[i], r[i], t[i], dim, lo, hi_t[i], cfg)
        shapes = model.shape(a, clamp=False)
    # final pose against the predicted shapes
    if dim == 3:
        s, r, t = geometry.similarity_fit(shapes[:, : mesh.N_MESH], cam[:, : mesh.N_MESH], w_all[: mesh.N_MESH])
    else:
        s, r, t = _fit_pose_2d(shapes, cam, w_all)
        t = np.concatenate([t, np.zeros((t_n, 1))], axis=1)
    return _assemble(rig, model, a, s, r, t)


@functools.lru_cache(maxsize=None)
def _alternatives(columns: tuple[str, ...]) -> tuple[tuple[int, int, float], ...]:
    """rig.yaml ``alternatives`` -> ((stronger column, weaker column, ratio), ...); ratio = the
    weaker code's amount one unit of the stronger one stands for (their first rotate components'
    angles, else 1)."""
    def degrees(au: str) -> float | None:
        for comp in rig_spec()["aus"].get(au, []):
            if "rotate" in comp:
                return float(comp["rotate"]["deg"])
        return None

    out = []
    for alt in rig_spec().get("alternatives") or []:
        strong, weak = str(alt["stronger"]), str(alt["weaker"])
        ds, dw = degrees(strong), degrees(weak)
        out.append((columns.index(strong), columns.index(weak), ds / dw if ds and dw else 1.0))
    return tuple(out)


def apply_alternatives(a: np.ndarray, columns: tuple[str, ...]) -> np.ndarray:
    """(T, C) basis amounts -> the same with rig.yaml ``alternatives`` resolved: where two codes for
    one motion are both given, the weaker keeps only what exceeds the stronger (the jaw opens by
    the larger of AU26 and AU27, not their sum).  Identity when at most one of a pair is active."""
    alts = _alternatives(tuple(columns))
    if not alts:
        return a
    a = np.array(a, dtype=np.float64, copy=True)
    for i, j, ratio in alts:
        a[:, j] = np.maximum(0.0, a[:, j] - ratio * a[:, i])
    return a


@functools.lru_cache(maxsize=None)
def _exclusive_pairs(columns: tuple[str, ...]) -> np.ndarray:
    """(P, 2) column indices of the antagonist pairs of rig.yaml."""
    pairs = [(columns.index(a), columns.index(b)) for a, b in rig_spec().get("exclusive", [])]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def pin_weaker_antagonists(a: np.ndarray, pairs: np.ndarray, hi: np.ndarray, threshold: float) -> bool:
    """(C,) amounts: for every antagonist pair (P, 2) with both above ``threshold``, set the weaker
    one's upper bound in ``hi`` (C,) to 0 (in place), for a re-solve. False when no pair conflicts."""
    both = np.minimum(a[pairs[:, 0]], a[pairs[:, 1]]) > threshold
    for p0, p1 in pairs[both]:
        hi[p1 if a[p0] >= a[p1] else p0] = 0.0
    return bool(both.any())


def _prune_antagonists(model: RigModel, a: np.ndarray, cam: np.ndarray, s: np.ndarray, r: np.ndarray,
                       t: np.ndarray, dim: int, lo: np.ndarray, hi: np.ndarray, cfg: InverseConfig,
                       solver: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Frames where both AUs of an antagonist pair are active: fix the weaker of each such pair at
    0 and re-solve (up to 3 times), with the frame's current pose.  Returns the new values and
    the per-frame upper bounds (T, C) used (0 for pruned AUs)."""
    pairs = _exclusive_pairs(model.columns)
    hi_t = np.broadcast_to(hi, a.shape).copy()
    if not len(pairs):
        return a, hi_t
    for i in np.nonzero(np.any(np.minimum(a[:, pairs[:, 0]], a[:, pairs[:, 1]]) > cfg.exclusive_min, axis=1))[0]:
        hi_i = hi.copy()
        for _ in range(3):
            if not pin_weaker_antagonists(a[i], pairs, hi_i, cfg.exclusive_min):
                break
            if solver is not None:
                can = np.einsum("ji,nj->ni", r[i], cam[i] - t[i]) / s[i]
                d = (can - model.neutral).reshape(-1) * solver["wk"]
                a[i] = _bounded_solve(solver["A"], d, lo, hi_i, solver["gram"], solver["L"],
                                      _penalty(model, solver["gram"], cfg.sparsity))
            else:
                proj = s[i] * r[i, :2]
                a_mat = np.einsum("ij,cvj->vic", proj, model.lin_basis).reshape(-1, model.n_columns)
                b = (cam[i] - (model.neutral @ proj.T + t[i])).reshape(-1)
                gram = a_mat.T @ a_mat + 1e-6 * np.eye(model.n_columns)
                a[i] = _bounded_solve(a_mat, b, lo, hi_i, gram, np.linalg.cholesky(gram),
                                      _penalty(model, gram, cfg.sparsity))
        a[i, (hi_i == 0.0) & (hi > 0)] = 0.0
        hi_t[i] = hi_i
    return a, hi_t


def _cross_cols(x: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N, 3, 3): column k = e_k x X (derivative of a small body rotation)."""
    z = np.zeros(len(x))
    ex = np.stack([z, -x[:, 2], x[:, 1]], axis=1)
    ey = np.stack([x[:, 2], z, -x[:, 0]], axis=1)
    ez = np.stack([-x[:, 1], x[:, 0], z], axis=1)
    return np.stack([ex, ey, ez], axis=2)


def _joint_refine(model: RigModel, a: np.ndarray, cam: np.ndarray, s: float, r: np.ndarray,
                  t: np.ndarray, dim: int, lo: np.ndarray, hi: np.ndarray, cfg: InverseConfig,
                  ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Gauss-Newton over (AU + gaze, rotation, log-scale, translation) of one frame, AU bounds
    kept: the observation model cam ~ s R X(a) + t linearised with R <- R exp([w]x).  Fitting the
    pose jointly stops it from absorbing AU motion (e.g. brows lowering read as a pitch)."""
    from thinkdraw.face.geometry import euler_to_matrix  # noqa: F401  (documentation link)

    c = model.n_columns
    wz = np.sqrt(np.array([1.0, 1.0, cfg.z_weight]))[:dim]
    vw = np.sqrt(_vertex_weights())
    big = 1e6
    pairs = _exclusive_pairs(model.columns) if cfg.exclusive else np.zeros((0, 2), dtype=np.int64)
    hi = hi.copy()
    for _ in range(cfg.joint_steps):
        # antagonists: once one of a pair is active, the other stays at 0
        for p0, p1 in pairs:
            if max(a[p0], a[p1]) > cfg.exclusive_min:
                weaker = p1 if a[p0] >= a[p1] else p0
                hi[weaker] = lo[weaker]
                a[weaker] = lo[weaker]
        x = model.shape(a[None], clamp=False)[0]
        jac = model.jacobian(a)  # (478, 3, C)
        sr = s * r
        pred = x @ sr.T + t
        cols = np.concatenate([
            np.einsum("ij,vjc->vic", sr, jac),  # AU + gaze
            np.einsum("ij,vjk->vik", sr, _cross_cols(x)),  # rotation (body frame)
            (x @ sr.T)[:, :, None],  # log scale
            np.broadcast_to(np.eye(3), (len(x), 3, 3)),  # translation
        ], axis=2)[:, :dim]  # (478, dim, P)
        wgt = (vw[:, None] * wz[None, :])[:, :, None]
        design = (cols * wgt).reshape(-1, cols.shape[2])
        if dim == 2:
            design = design[:, : c + 6]  # no z translation
        res = ((cam[:, :dim] - pred[:, :dim]) * wgt[:, :, 0]).reshape(-1)
        p_n = design.shape[1]
        lo_d = np.full(p_n, -big)
        hi_d = np.full(p_n, big)
        lo_d[:c] = lo - a
        hi_d[:c] = np.maximum(hi - a, lo_d[:c])
        gram = design.T @ design + 1e-8 * np.eye(p_n)
        pen = np.zeros(p_n)
        pen[:c] = _penalty(model, gram[:c, :c], cfg.sparsity)
        delta = _bounded_solve_normal(gram, design.T @ res - pen, lo_d, hi_d)
        a = np.clip(a + delta[:c], lo, hi)
        w = delta[c:c + 3]
        r = r @ _rotation(w, np.rad2deg(np.linalg.norm(w))) if np.linalg.norm(w) > 0 else r
        s = s * float(np.exp(delta[c + 3]))
        t = t.copy()
        t[:dim] += delta[c + 4:c + 4 + dim]
        if np.max(np.abs(delta[:c])) < 1e-4 and np.linalg.norm(w) < 1e-6:
            break
    return a, s, r, t


def _gauss_newton(model: RigModel, a: np.ndarray, cam: np.ndarray, s: float, r: np.ndarray,
                  t: np.ndarray, dim: int, lo: np.ndarray, hi: np.ndarray, cfg: InverseConfig) -> np.ndarray:
    wz = np.sqrt(np.array([1.0, 1.0, cfg.z_weight]))[:dim]
    vw = np.sqrt(_vertex_weights())[:, None]
    for _ in range(cfg.gauss_newton_steps):
        x = model.shape(a[None], clamp=False)[0]
        jac = model.jacobian(a)  # (478, 3, C)
        proj = (s * r)[:dim]  # (dim, 3)
        pred = x @ proj.T + t[:dim]
        j_obs = np.einsum("ij,vjc->vic", proj, jac) * (wz[None, :] * vw)[:, :, None]
        res = (cam[:, :dim] - pred) * wz[None] * vw
        j2 = j_obs.reshape(-1, model.n_columns)
        gram = j2.T @ j2 + 1e-6 * np.eye(model.n_columns)
        a_new = _bounded_solve(j2, res.reshape(-1) + j2 @ a, lo, hi, gram, np.linalg.cholesky(gram),
                               _penalty(model, gram, cfg.sparsity))
        if np.max(np.abs(a_new - a)) < 1e-4:
            return a_new
        a = a_new
    return a


def _assemble(rig: Rig, model: RigModel, a: np.ndarray, s: np.ndarray, r: np.ndarray, t: np.ndarray,
              ) -> np.ndarray:
    """Basis values + fitted similarity (cam = s R X + t) -> (T, D) rig parameters."""
    t_n = a.shape[0]
    lo, hi = _bounds(model)
    a = np.clip(a, lo, hi)
    out = np.zeros((t_n, len(rig.channels)))
    out[:, rig._basis_cols] = a
    yaw, pitch, roll = geometry.matrix_to_euler(r)
    d_ang = np.stack([yaw, pitch, roll], axis=1) - rig.euler0[None]
    d_ang = (d_ang + 180.0) % 360.0 - 180.0
    tp = t + s[:, None] * np.einsum("tij,j->ti", r, rig.pivot)  # pivot position
    dt = tp - rig.t_pivot[None]
    out[:, rig._pose_slice] = np.stack([
        d_ang[:, 0], d_ang[:, 1], d_ang[:, 2],
        dt[:, 0] / rig.face_width, -dt[:, 1] / rig.face_width, np.log(s / rig.s0),
    ], axis=1)
    return out.astype(np.float32)
