"""The canonical neutral face: a (478, 3) mesh in the rig's canonical frame, shipped as data.

Frame (see :mod:`thinkdraw.face.geometry`): x toward the person's left, y up, z toward the
viewer, origin midway between the eye centres, unit = inter-ocular distance. Pitch 0 is the mean
head pitch of the (frontal) source portraits.

How ``data/canonical_neutral.npz`` was made (``python -m thinkdraw.face.canonical``, offline):
MediaPipe Face Mesh on public-domain portraits (skimage's astronaut, matplotlib's grace_hopper)
and their mirror images; generalised Procrustes alignment (Gower 1975, Psychometrika 40) of all
shapes; the mean made left/right symmetric with the mirror correspondence of the mesh (found by
matching the landmarks of a mirrored photo); put into the frame above. The source faces smile
slightly, so the rig's own-AU estimate (:func:`thinkdraw.face.rig.estimate_own_aus`: lip
corners level with the lip midline, lips closed) is removed from the mean (``neutralise_file``).
The file also stores ``mirror`` (478,) int: index of each landmark's mirror partner.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from thinkdraw.face import geometry, mesh

DATA_FILE = "data/canonical_neutral.npz"


@functools.lru_cache(maxsize=None)
def _load() -> dict[str, np.ndarray]:
    with resources.files(__package__).joinpath(DATA_FILE).open("rb") as fh:
        z = np.load(fh)
        return {k: z[k] for k in z.files}


def canonical_neutral() -> np.ndarray:
    """(478, 3) float64 canonical neutral face (copy)."""
    return _load()["points"].astype(np.float64).copy()


def mirror_index() -> np.ndarray:
    """(478,) int: landmark i's left/right mirror partner (an involution)."""
    return _load()["mirror"].astype(np.int64).copy()


def to_canonical_frame(p: np.ndarray) -> np.ndarray:
    """(478, 3) camera-frame points of a roughly symmetric frontal face -> canonical frame."""
    p = np.asarray(p, dtype=np.float64)
    r, l = geometry.eye_centres(p)
    origin = (r + l) / 2
    x = l - r
    x /= np.linalg.norm(x)
    v = p[mesh.FOREHEAD] - p[mesh.CHIN]  # up, set to lie in the x-y plane
    y = v - x * (v @ x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    rot = np.stack([x, y, z])
    q = (p - origin) @ rot.T
    return q / geometry.interocular(q)


def mirror_points(p: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Mirror a canonical-frame face: reflect x and swap left/right partners."""
    q = p[..., mirror, :].copy()
    q[..., 0] *= -1.0
    return q


def derive(images: list[np.ndarray] | None = None, iterations: int = 5) -> dict[str, np.ndarray]:
    """Derive the canonical neutral face from portraits (default: the two public-domain ones)."""
    from thinkdraw.face.analyze import FaceAnalyzer

    if images is None:
        from thinkdraw.samples import SAMPLE_NAMES, load_sample

        images = [load_sample(name) for name in SAMPLE_NAMES]
    fa = FaceAnalyzer()
    shapes, mirror = [], None
    for img in images:
        lm = fa.find_faces(img)[0][0]
        fl = fa.find_faces(np.ascontiguousarray(img[:, ::-1]))[0][0]
        fl[:, 0] = img.shape[1] - fl[:, 0]  # back to original coordinates: labels are mirrored
        if mirror is None:
            from scipy.optimize import linear_sum_assignment

            d = np.linalg.norm(lm[:468, None, :2] - fl[None, :468, :2], axis=-1)
            mirror = np.arange(478)
            mirror[:468] = linear_sum_assignment(d)[1]  # flipped-photo label matching original i
            mirror[468:473], mirror[473:478] = np.arange(473, 478), np.arange(468, 473)
        shapes += [geometry.pixel_to_camera(lm), geometry.pixel_to_camera(fl[mirror])]
    assert mirror is not None
    shapes_a = np.stack(shapes)
    ref = to_canonical_frame(shapes_a[0])
    for _ in range(iterations):
        s, r, t = geometry.similarity_fit(shapes_a[:, :468], np.broadcast_to(ref[:468], shapes_a[:, :468].shape))
        aligned = geometry.apply_similarity(shapes_a, s, r, t)
        mean = aligned.mean(0)
        mean = 0.5 * (mean + mirror_points(mean, mirror))
        ref = to_canonical_frame(mean)
    # Pitch zero = the source photos' mean pitch (they are frontal portraits): rotate about x.
    _, r, _ = geometry.similarity_fit(np.broadcast_to(ref[:468], shapes_a[:, :468].shape), shapes_a[:, :468])
    pitch = float(np.mean(geometry.matrix_to_euler(r)[1]))
    ref = ref @ geometry.euler_to_matrix(0.0, pitch, 0.0).T
    return {"points": ref.astype(np.float64), "mirror": mirror.astype(np.int64), "sources": np.array(len(shapes))}


def neutralise_file(path) -> dict[str, float]:
    """Remove the source portraits' own mouth AUs (their smiles, parted lips) from the stored
    mean face, using the rig's own-AU estimate; rewrites ``path``.  Returns the AUs removed."""
    from thinkdraw.face import rig as rig_mod

    for fn in (_load, rig_mod.authored_rig, rig_mod._graph):
        fn.cache_clear()
    data = dict(_load())
    model = rig_mod.RigModel.build(data["points"])
    own = rig_mod.estimate_own_aus(data["points"], model)
    vec = np.zeros(model.n_columns)
    for c, v in own.items():
        vec[model.columns.index(c)] = v
    pts = data["points"] - np.einsum("c,cvk->vk", vec, model.basis)
    data["points"] = rig_mod.clamp_shape(pts[None])[0]
    np.savez(path, **data)
    for fn in (_load, rig_mod.authored_rig, rig_mod._graph):
        fn.cache_clear()
    return own


def main() -> None:  # pragma: no cover - offline data generation
    from pathlib import Path

    out = derive()
    path = Path(__file__).with_name("data") / "canonical_neutral.npz"
    np.savez(path, **out)
    removed = neutralise_file(path)
    print(f"wrote {path} (removed {removed})")


if __name__ == "__main__":  # pragma: no cover
    main()
