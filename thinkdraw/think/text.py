"""Text handling for THINK: input checks, language, tokens, clip timelines.

Decisions on bad input (tested in tests/think):
* empty or blank text -> InputError (exit 2): there is nothing to plan;
* longer than ``MAX_CHARS`` -> InputError: an emotion description is a phrase, not a document;
* control characters / binary data / text that is not valid UTF-8 -> InputError;
* text with no recognisable emotion content (only unknown emoji, gibberish, an unsupported
  script) -> a neutral plan with a warning, because a neutral face is a valid answer to
  "I could not read a feeling here" and the pipeline can still run.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from thinkdraw.errors import InputError

MAX_CHARS = 2000
"""Longest accepted emotion text, in characters."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[,.;:!?()]|->|→")


def validate(text: object) -> str:
    """Return the cleaned text or raise InputError with a one-line reason."""
    if not isinstance(text, str):
        raise InputError(f"emotion text must be a string, got {type(text).__name__}")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise InputError("emotion text is not valid UTF-8 (binary data?)")
    if len(text) > MAX_CHARS:
        raise InputError(f"emotion text too long: {len(text)} characters (at most {MAX_CHARS})")
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") and c not in "\t\n\r"]
    if bad:
        raise InputError(
            f"emotion text contains {len(bad)} control or unassigned character(s) such as "
            f"{ascii(bad[0])} (binary data?)"
        )
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError("empty emotion text")
    return cleaned


def normalise(text: str) -> str:
    """NFKC, lower case, straight quotes: the form the lexicons are matched against."""
    t = unicodedata.normalize("NFKC", text).lower()
    return t.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def language(text: str) -> str:
    """'zh' when Han characters are at least 30% of the letters, 'en' when Latin letters are
    present, else 'unknown' (only symbols, emoji or another script)."""
    han = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    other = sum(1 for c in text if c.isalpha()) - han - latin
    if han and han >= 0.3 * (han + latin + other):
        return "zh"
    if latin and latin >= 0.5 * (latin + other):
        return "en"
    return "unknown"


def en_tokens(text: str) -> list[str]:
    """Lower-cased English word tokens with punctuation kept as its own tokens."""
    return _EN_TOKEN.findall(normalise(text))


BOUNDARIES = frozenset({",", ".", ";", ":", "!", "?", "(", ")", "->", "→", "，", "。", "；", "！", "？", "、"})
"""Tokens that end a clause: degree and negation words do not reach across them."""


@dataclass
class Phase:
    """One phase of a clip timeline: its text and start time (None: not given)."""

    text: str
    t: float | None


def split_timeline(text: str, lex: dict) -> list[Phase]:
    """Split "calm, then furious from 3 s" into phases with start times. One phase if no split."""
    tl = lex.get("timeline") or {}
    seps = tl.get("separators") or []
    if not seps:
        return [Phase(text, None)]
    pattern = re.compile("|".join(f"(?:{s})" for s in seps), flags=re.IGNORECASE)
    parts = [p for p in pattern.split(text)]
    time_re = re.compile(tl.get("time", r"(\d+(?:\.\d+)?)\s*s\b"), flags=re.IGNORECASE)
    phases: list[Phase] = []
    for part in parts:
        m = time_re.search(part)
        t = float(m.group(1)) if m else None
        rest = time_re.sub(" ", part) if m else part
        rest = rest.strip(" ,.;:，。；、!！?？")
        if not rest:
            if t is not None and phases and phases[-1].t is None and len(phases) > 1:
                phases[-1].t = t
            continue
        phases.append(Phase(rest, t))
    if len(phases) < 2:
        return [Phase(text, None)]
    return phases
