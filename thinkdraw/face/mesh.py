"""MediaPipe Face Mesh topology: triangles and named landmark index groups.

Landmark indices follow MediaPipe Face Mesh with ``refine_landmarks=True``: 0-467 the face mesh,
468-472 the iris of the person's RIGHT eye (468 its centre), 473-477 the iris of the person's LEFT
eye (473 its centre).

LEFT / RIGHT always mean the PERSON's left/right (as MediaPipe's ``FACEMESH_LEFT_EYE``): in a
frontal, unmirrored photo the person's left eye is on the image's right.

Rings are ordered polylines: eye lids go from the outer corner to the inner corner, lip rings from
the person's right mouth corner (61 / 78) to the left one (291 / 308).
"""

from __future__ import annotations

import functools

import numpy as np

N_MESH = 468
"""Face-mesh vertices (without irises)."""
N_LANDMARKS = 478
"""Landmarks with refined irises."""

# --- lips (outer = vermilion border, inner = the lips' contact line / mouth opening) ----------
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIPS_OUTER = LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[-2:0:-1]
"""Closed outer lip ring (upper from right corner to left corner, then lower back)."""
LIPS_INNER = LIPS_INNER_UPPER + LIPS_INNER_LOWER[-2:0:-1]
"""Closed inner lip ring = the mouth opening."""
MOUTH_CORNERS = (61, 291)
"""Outer lip corners (cheilion): person's right, person's left."""
UPPER_LIP_MID = 13
LOWER_LIP_MID = 14

# --- eyes -------------------------------------------------------------------------------------
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE = RIGHT_EYE_UPPER + RIGHT_EYE_LOWER[-2:0:-1]
"""Closed ring of the person's right eye opening."""
LEFT_EYE = LEFT_EYE_UPPER + LEFT_EYE_LOWER[-2:0:-1]
"""Closed ring of the person's left eye opening."""
RIGHT_EYE_CORNERS = (33, 133)
"""(outer, inner) corners of the person's right eye."""
LEFT_EYE_CORNERS = (263, 362)
"""(outer, inner) corners of the person's left eye."""
RIGHT_IRIS = (468, 469, 470, 471, 472)
"""Person's right iris: centre then 4 boundary points."""
LEFT_IRIS = (473, 474, 475, 476, 477)
"""Person's left iris: centre then 4 boundary points."""
IRISES = RIGHT_IRIS + LEFT_IRIS
EYES = ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS))
"""(upper lid chain, lower lid chain, iris) landmark ids of each eye, the person's right eye first."""

# --- brows ------------------------------------------------------------------------------------
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)
RIGHT_BROW_LOWER = (46, 53, 52, 65, 55)
LEFT_BROW_UPPER = (300, 293, 334, 296, 336)
LEFT_BROW_LOWER = (276, 283, 282, 295, 285)
RIGHT_BROW = RIGHT_BROW_UPPER + RIGHT_BROW_LOWER[::-1]
LEFT_BROW = LEFT_BROW_UPPER + LEFT_BROW_LOWER[::-1]

# --- nose, chin, oval -------------------------------------------------------------------------
NOSE_TIP = 1
NOSE_BRIDGE = (168, 6, 197, 195, 5, 4, 1)
NOSE_HULL = NOSE_BRIDGE + (19, 94, 2, 98, 327, 64, 294, 48, 278, 102, 331, 129, 358)  # bridge, tip, wings: its convex hull covers the nose
CHIN = 152
CHEEKS_BELOW_EYES = (205, 425)  # (right, left) cheek points below the eyes, clear of glasses
FOREHEAD = 10
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
"""Closed face outline, clockwise in the image starting at the top of the forehead."""

# Stable points for head-pose alignment: eye corners, nose bridge/tip, forehead, temples,
# cheekbones (little affected by facial action units).
POSE_ANCHORS = (33, 133, 263, 362, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 8, 234, 454, 127, 356,
                93, 323, 116, 345, 123, 352, 47, 277, 174, 399, 218, 438)


@functools.lru_cache(maxsize=None)
def tessellation_edges() -> np.ndarray:
    """(E, 2) int: undirected edges of MediaPipe's FACEMESH_TESSELATION (i < j)."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    e = np.array(sorted({(min(a, b), max(a, b)) for a, b in FACEMESH_TESSELATION}), dtype=np.int64)
    return e


@functools.lru_cache(maxsize=None)
def triangles() -> np.ndarray:
    """(F, 3) int: triangles of the 468-vertex face mesh, derived from the tessellation edges.

    Every 3-clique of the edge graph is a candidate; a clique that is not a real face (a
    "separating triangle" enclosing other vertices) is dropped when one of its edges would be
    shared by more than two triangles -- real interior edges border exactly two faces. Cached;
    the result is also shipped as ``data/triangles.npy`` and loaded from there when present.
    """
    from importlib import resources

    try:
        with resources.files(__package__).joinpath("data/triangles.npy").open("rb") as fh:
            return np.load(fh)
    except (FileNotFoundError, OSError):
        return _derive_triangles()


def _derive_triangles() -> np.ndarray:
    edges = tessellation_edges()
    nbr: dict[int, set[int]] = {}
    for a, b in edges.tolist():
        nbr.setdefault(a, set()).add(b)
        nbr.setdefault(b, set()).add(a)
    tris = set()
    for a, b in edges.tolist():
        for c in nbr[a] & nbr[b]:
            tris.add(tuple(sorted((a, b, c))))
    tri = np.array(sorted(tris), dtype=np.int64)
    # Drop separating triangles: iteratively remove cliques whose edges have > 2 triangles,
    # preferring the one with most overfull edges.
    while True:
        key = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]]), axis=1)
        uniq, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        over = (cnt[inv.reshape(-1)] > 2).reshape(3, -1).sum(0)
        if over.max() == 0:
            break
        tri = np.delete(tri, int(np.argmax(over)), axis=0)
    return tri


def oriented_triangles(points: np.ndarray) -> np.ndarray:
    """Triangles ordered counter-clockwise in image coordinates for the given (468+, 2) points."""
    tri = triangles().copy()
    p = np.asarray(points)[:, :2]
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flip = cross < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    return tri
