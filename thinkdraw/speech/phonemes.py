"""Phoneme inventory (ARPAbet), phoneme ids, visemes and IPA -> ARPAbet, all from data files.

Phoneme ids are stable integers: 0 = SIL, then the 39 CMUdict phonemes in alphabetical order.
Viseme classes come from ``data/visemes.yaml`` (Preston Blair chart + MPEG-4 consonant groups).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources
from typing import Any

import yaml

ARPABET: tuple[str, ...] = (
    "SIL",
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip
"""ARPAbet without stress digits; index = phoneme id (0 = silence)."""

PHONEME_ID: dict[str, int] = {p: i for i, p in enumerate(ARPABET)}

_STRESS = re.compile(r"[0-9]")
# IPA marks that carry no segment: stress, length, syllable, tie bars, tone letters, punctuation.
_IPA_STRIP = re.compile("[ˈˌːˑ.‿͜͡|ʰʲʷ˞̩̯̃˥˦˧˨˩0-9;'\",_\\-]")


@functools.lru_cache(maxsize=None)
def _load(name: str) -> Any:
    text = resources.files(__package__).joinpath("data").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.lru_cache(maxsize=None)
def viseme_classes() -> tuple[str, ...]:
    """Viseme class names; index = viseme id (0 = rest)."""
    classes = sorted(_load("visemes")["classes"], key=lambda c: c["id"])
    return tuple(c["name"] for c in classes)


@functools.lru_cache(maxsize=None)
def viseme_table() -> dict[str, int]:
    """ARPAbet phoneme -> viseme id."""
    names = {n: i for i, n in enumerate(viseme_classes())}
    return {p: names[v] for p, v in _load("visemes")["phonemes"].items()}


@functools.lru_cache(maxsize=None)
def phoneme_to_viseme_array() -> "Any":
    """numpy int array: phoneme id -> viseme id (vectorised lookup)."""
    import numpy as np

    table = viseme_table()
    return np.array([table[p] for p in ARPABET], dtype=np.int64)


def normalise_arpabet(phone: str) -> str:
    """'AH0' -> 'AH'; pocketsphinx fillers ('+NSN+', '<sil>', 'SIL') -> 'SIL'. Unknown -> 'SIL'."""
    p = _STRESS.sub("", phone.strip().upper())
    return p if p in PHONEME_ID else "SIL"


@functools.lru_cache(maxsize=None)
def _ipa_keys() -> tuple[tuple[str, str], ...]:
    table = _load("ipa_arpabet")["map"]
    return tuple(sorted(table.items(), key=lambda kv: -len(kv[0])))


@functools.lru_cache(maxsize=4096)
def ipa_to_arpabet(ipa: str) -> tuple[str, ...]:
    """IPA string -> ARPAbet phonemes (greedy longest match; unknown symbols dropped).

    'həˈloʊ' -> ('HH', 'AH', 'L', 'OW'). An empty or pause-only string gives ().
    """
    s = _IPA_STRIP.sub("", unicodedata.normalize("NFD", ipa))
    s = unicodedata.normalize("NFC", s)
    keys = _ipa_keys()
    out: list[str] = []
    i = 0
    while i < len(s):
        for key, arpa in keys:
            if s.startswith(key, i):
                if arpa != "SIL":
                    out.append(arpa)
                i += len(key)
                break
        else:
            i += 1  # unknown symbol (e.g. a combining mark): skip
    return tuple(out)
