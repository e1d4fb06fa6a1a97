"""Public entry points of THINK: ``Planner`` (load once, plan many) and ``plan_emotion``."""

from __future__ import annotations

import json
import threading
from typing import Any

from thinkdraw import facs
from thinkdraw.errors import InputError
from thinkdraw.think import text as T
from thinkdraw.think.plan import EmotionPlan
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

BACKENDS: tuple[str, ...] = ("knowledge", "openai")
MAX_KEYFRAMES = 32
"""Most keyframes accepted in an explicit timeline."""


def keyframe_phase_text(spec: dict[str, Any]) -> str:
    """The text a keyframe spec is planned from: its ``text``, else '<intensity word> <emotion>'."""
    if spec.get("text"):
        return str(spec["text"])
    if spec.get("emotion"):
        return str(spec["emotion"]).replace("_", " ")
    return "neutral"


def parse_keyframes(value: Any) -> list[dict[str, Any]]:
    """Validate an explicit keyframe list (a JSON string or a list of dicts).

    Each item: ``{"t": seconds, "text": "furious"}`` or ``{"t": 3, "emotion": "anger",
    "intensity": 0.8}`` or ``{"t": 1, "aus": {"AU12": 0.6}}`` (``text``/``emotion`` optional when
    ``aus`` is given). Raises InputError with a one-line reason.
    """
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"keyframes are not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(value, list) or not value:
        raise InputError("keyframes must be a non-empty JSON list of objects like {\"t\": 0, \"text\": \"calm\"}")
    if len(value) > MAX_KEYFRAMES:
        raise InputError(f"too many keyframes: {len(value)} (at most {MAX_KEYFRAMES})")
    known = facs.emotions()
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"keyframe {i} must be an object, got {type(item).__name__}")
        spec: dict[str, Any] = {}
        t = item.get("t", item.get("time"))
        if t is not None:
            if not isinstance(t, (int, float)) or isinstance(t, bool) or not (0 <= t <= 3600):
                raise InputError(f"keyframe {i}: t must be a number of seconds in [0, 3600], got {t!r}")
            spec["t"] = float(t)
        if "text" in item:
            spec["text"] = T.validate(item["text"])
        if "emotion" in item:
            name = str(item["emotion"]).strip().lower().replace(" ", "_")
            if name not in known:
                raise InputError(f"keyframe {i}: unknown emotion {item['emotion']!r}")
            inten = item.get("intensity")
            spec["emotion"] = name
            if inten is not None:
                if not isinstance(inten, (int, float)) or not (0 <= inten <= 1):
                    raise InputError(f"keyframe {i}: intensity must be in [0, 1], got {inten!r}")
                word = "slightly" if inten < 0.4 else "extremely" if inten > 0.75 else ""
                spec["emotion"] = name
                spec["text"] = f"{word} {name.replace('_', ' ')}".strip()
        if "aus" in item:
            if not isinstance(item["aus"], dict):
                raise InputError(f"keyframe {i}: aus must be an object {{\"AU12\": 0.5}}")
            spec["aus"] = item["aus"]
        if not ({"text", "emotion", "aus"} & set(spec)):
            raise InputError(f"keyframe {i} needs a text, an emotion or aus")
        out.append(spec)
    return out


class Planner:
    """Loads the knowledge (and MiniLM) once, then plans many texts.

    ``backend``: "knowledge" (offline, default) or "openai" (options: base_url, model, api_key,
    timeout; falls back to knowledge with a warning). Safe to share between threads: knowledge
    planning is serialised by a lock, HTTP calls to the endpoint are not.
    """

    def __init__(self, backend: str = "knowledge", **options: Any) -> None:
        if backend not in BACKENDS:
            raise InputError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        from thinkdraw.think.knowledge import KnowledgeBackend, KnowledgeConfig

        kcfg = KnowledgeConfig(**{k: v for k, v in options.items() if k in KnowledgeConfig.__dataclass_fields__})
        self.knowledge = KnowledgeBackend(kcfg)
        self.backend_name = backend
        self._lock = threading.Lock()
        self.llm = None
        if backend == "openai":
            from thinkdraw.think.openai_backend import OpenAIBackend, OpenAIConfig

            ocfg = OpenAIConfig.from_options(**{k: v for k, v in options.items() if k in OpenAIConfig.__dataclass_fields__})
            self.llm = OpenAIBackend(ocfg, fallback=_LockedKnowledge(self.knowledge, self._lock))

    def plan(self, text: str | None, keyframes: Any = None) -> EmotionPlan:
        """Plan one emotion text (and/or an explicit keyframe list). Raises InputError on bad input."""
        specs = parse_keyframes(keyframes) if keyframes is not None else None
        if text is None or (specs and not str(text).strip()):
            if not specs:
                raise InputError("empty emotion text")
            text = ", then ".join(keyframe_phase_text(s) for s in specs)
        clean = T.validate(text)
        if self.llm is not None and not specs:
            return self.llm.plan(clean)
        with self._lock:
            return self.knowledge.plan(clean, keyframes=specs)


class _LockedKnowledge:
    """The knowledge backend behind the planner's lock (used as the openai fallback)."""

    def __init__(self, backend: Any, lock: threading.Lock) -> None:
        self._backend, self._lock = backend, lock
        self.output_emotions = backend.output_emotions

    def plan(self, text: str) -> EmotionPlan:
        with self._lock:
            return self._backend.plan(text)


_DEFAULT: dict[tuple, Planner] = {}
_DEFAULT_LOCK = threading.Lock()


def plan_emotion(text: str | None, backend: str = "knowledge", keyframes: Any = None, **options: Any) -> EmotionPlan:
    """Plan ``text`` -> EmotionPlan. Planners are cached per (backend, options) in the process."""
    key = (backend, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _DEFAULT_LOCK:
        planner = _DEFAULT.get(key)
        if planner is None:
            planner = _DEFAULT[key] = Planner(backend, **options)
    return planner.plan(text, keyframes=keyframes)
