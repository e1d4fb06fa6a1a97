"""FACS knowledge as data files, loaded once (see the YAML files beside this module for sources).

``load("aus")`` returns the parsed YAML of ``aus.yaml``; results are cached.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.lru_cache(maxsize=None)
def load(name: str) -> Any:
    """Parse ``thinkdraw/facs/<name>.yaml`` once and cache it. Treat the result as read-only."""
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.lru_cache(maxsize=None)
def au_catalog() -> dict[str, dict[str, Any]]:
    """Facial AUs: id ('AU12') -> {name, muscles, region, unilateral, rig, description}."""
    return dict(load("aus")["facial"])


@functools.lru_cache(maxsize=None)
def head_eye_codes() -> dict[str, dict[str, Any]]:
    """Head (AU51-58) and eye (AU61-64) position codes -> {name, channel, sign, description}."""
    data = load("aus")
    return {**data["head"], **data["eyes"]}


REGIONS: tuple[str, ...] = ("brows", "eyes", "cheeks", "nose", "mouth", "jaw")
"""Face regions in the order a plan is written (top to bottom)."""


def normalise_au(code: str) -> str:
    """'au12', 'AU 12', '12' -> 'AU12'. Does not check the catalog."""
    s = str(code).strip().upper().replace(" ", "")
    if s.startswith("AU"):
        s = s[2:]
    s = s.lstrip("0") or "0"
    return f"AU{s}"


# ---- THINK knowledge (emotions.yaml, rules.yaml, lexicon_*.yaml, arkit.yaml) ------------------

BASIC_EMOTIONS: tuple[str, ...] = (
    "neutral", "happiness", "sadness", "surprise", "fear", "anger", "disgust", "contempt",
)
"""The basic emotion names every plan uses (EMFACS six + contempt, plus neutral)."""


@functools.lru_cache(maxsize=None)
def emotions() -> dict[str, dict[str, Any]]:
    """Emotion prototypes: name -> {kind, aus, sides, components|family, timing, valence, ...}."""
    return dict(load("emotions"))


@functools.lru_cache(maxsize=None)
def rules() -> dict[str, Any]:
    """Conflict, masking and negation rules (rules.yaml)."""
    return dict(load("rules"))


@functools.lru_cache(maxsize=None)
def lexicon(lang: str) -> dict[str, Any]:
    """Emotion lexicon for ``lang`` ('en' or 'zh'): words, mixtures, intensifiers, negation, ..."""
    if lang not in ("en", "zh"):
        raise ValueError(f"no lexicon for language {lang!r}")
    return dict(load(f"lexicon_{lang}"))


@functools.lru_cache(maxsize=None)
def arkit_map() -> dict[str, dict[str, float]]:
    """AU -> {ARKit blendshape name (with ``{S}`` for the side): weight} (arkit.yaml)."""
    return {au: dict(v) for au, v in load("arkit")["map"].items()}


def arkit_blendshapes() -> list[str]:
    """The 52 ARKit blendshape names, in Apple's documented order."""
    return list(load("arkit")["blendshapes"])


def au_to_arkit(aus: dict[str, float], sides: dict[str, str] | None = None) -> dict[str, float]:
    """{AU: intensity} (+ optional {AU: both|left|right}) -> {ARKit blendshape: value in [0, 1]}."""
    table = arkit_map()
    sides = sides or {}
    out: dict[str, float] = {}
    for au, x in aus.items():
        side = sides.get(au, "both")
        suffixes = {"both": ("Left", "Right"), "left": ("Left",), "right": ("Right",)}[side]
        for template, weight in table.get(normalise_au(au), {}).items():
            names = [template.replace("{S}", s) for s in suffixes] if "{S}" in template else [template]
            for name in names:
                out[name] = min(1.0, out.get(name, 0.0) + float(weight) * float(x))
    return out
