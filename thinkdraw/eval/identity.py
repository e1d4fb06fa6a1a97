"""Identity judge: dlib's face-recognition ResNet (128-d embeddings; same person if distance < 0.6).

Models come from the ``face_recognition_models`` wheel, located through importlib.resources (its
own ``__init__`` needs pkg_resources, which may be missing, so it is never imported). King,
"Dlib-ml: A machine learning toolkit", JMLR 10, 2009; the model's 0.6 threshold is dlib's.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from thinkdraw.errors import BackendError

SAME_PERSON_THRESHOLD = 0.6
"""dlib's recommended distance threshold for 'same person'."""


def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError("face-recognition-models is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class IdentityJudge:
    """Embeds faces with dlib (detector -> 68-point shape -> ResNet descriptor)."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise BackendError(f"dlib is not installed (pip install dlib-bin): {exc}") from None
        d = _models_dir()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(d / "shape_predictor_68_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(d / "dlib_face_recognition_resnet_model_v1.dat"))
        self._lock = threading.Lock()

    def embed(self, rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (128,) float descriptor of the largest face, or None.

        box: optional (x0, y0, x1, y1) face box to use instead of dlib's detector.
        """
        img = np.ascontiguousarray(rgb, dtype=np.uint8)
        with self._lock:
            if box is not None:
                x0, y0, x1, y1 = (int(round(v)) for v in box)
                rect = self._dlib.rectangle(x0, y0, x1, y1)
            else:
                dets = self._detector(img, 1)
                if len(dets) == 0:
                    return None
                rect = max(dets, key=lambda r: r.width() * r.height())
            shape = self._shape(img, rect)
            return np.asarray(self._net.compute_face_descriptor(img, shape, 1), dtype=np.float64)

    def distances(self, source: np.ndarray, frames: Sequence[np.ndarray],
                  box: tuple[float, float, float, float] | None = None) -> list[float]:
        """Descriptor distance from ``source`` (H, W, 3) to each of ``frames``: dlib's detector first,
        the face ``box`` (x0, y0, x1, y1; e.g. MediaPipe's, where dlib's HOG detector misses a
        stylised face) where it finds none; nan where neither gives a face."""
        def emb(img: np.ndarray) -> np.ndarray | None:
            e = self.embed(img)
            return self.embed(img, box=box) if e is None and box is not None else e

        src = emb(source)
        out = []
        for frame in frames:
            e = emb(frame)
            out.append(float(np.linalg.norm(e - src)) if e is not None and src is not None else float("nan"))
        return out

    def distance(self, a: np.ndarray, b: np.ndarray, box: tuple[float, float, float, float] | None = None) -> float:
        """Descriptor distance between the faces of two images (nan when a face is not found)."""
        ea, eb = self.embed(a, box), self.embed(b, box)
        if ea is None or eb is None:
            return float("nan")
        return float(np.linalg.norm(ea - eb))
