"""Alignment accuracy: phoneme-boundary error of an alignment against reference phonemes.

Matching ARPAbet to espeak: espeak's phoneme events are IPA, mapped to ARPAbet by
``phonemes.ipa_to_arpabet`` (data/ipa_arpabet.yaml). The two non-silence ARPAbet label sequences
are matched with difflib's longest-matching-blocks (Ratcliff/Obershelp); only identical labels in
matched blocks are compared, so dictionary/espeak pronunciation differences (e.g. AH vs IH in an
unstressed vowel) drop out instead of shifting the comparison. The error of a matched pair is
|start_aligned - start_reference| (a boundary is where a phoneme begins).
"""

from __future__ import annotations

import difflib

import numpy as np

from thinkdraw.speech.track import Phoneme


def boundary_errors(aligned: list[Phoneme], reference: list[Phoneme]) -> tuple[np.ndarray, float]:
    """Returns (per-matched-phoneme |start error| seconds, fraction of reference phonemes matched)."""
    a = [p for p in aligned if p.p != "SIL"]
    r = [p for p in reference if p.p != "SIL"]
    if not a or not r:
        return np.zeros(0), 0.0
    sm = difflib.SequenceMatcher(a=[p.p for p in a], b=[p.p for p in r], autojunk=False)
    errs = [abs(a[blk.a + k].start - r[blk.b + k].start) for blk in sm.get_matching_blocks() for k in range(blk.size)]
    return np.asarray(errs, float), len(errs) / len(r)
