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
