"""The FACS knowledge files: complete, consistent with the AU catalog, sources cited."""

from __future__ import annotations

from importlib import resources

import pytest

from thinkdraw import facs

DU_COMPOUNDS = {
    "happily_surprised", "happily_disgusted", "sadly_fearful", "sadly_angry", "sadly_surprised",
    "sadly_disgusted", "fearfully_angry", "fearfully_surprised", "fearfully_disgusted", "angrily_surprised",
    "angrily_disgusted", "disgustedly_surprised", "appalled", "hatred", "awed",
}
# Du, Tao & Martinez (2014) Table 1 prototypical AUs
DU_TABLE = {
    "happily_surprised": {1, 2, 12, 25}, "happily_disgusted": {10, 12, 25}, "sadly_fearful": {1, 4, 20, 25},
    "sadly_angry": {4, 15}, "sadly_surprised": {1, 4, 25, 26}, "sadly_disgusted": {4, 10},
    "fearfully_angry": {4, 20, 25}, "fearfully_surprised": {1, 2, 5, 20, 25},
    "fearfully_disgusted": {1, 4, 10, 20, 25}, "angrily_surprised": {4, 25, 26}, "angrily_disgusted": {4, 10, 17},
    "disgustedly_surprised": {1, 2, 5, 10}, "appalled": {4, 10}, "hatred": {4, 10}, "awed": {1, 2, 5, 25},
}
EMFACS = {
    "happiness": {6, 12}, "sadness": {1, 4, 15}, "surprise": {1, 2, 5, 26}, "fear": {1, 2, 4, 5, 7, 20, 26},
    "anger": {4, 5, 7, 23}, "disgust": {9, 15, 16}, "contempt": {12, 14},
}
REQUIRED_EXTENDED = {"amusement", "awe", "boredom", "confusion", "contentment", "embarrassment", "interest",
                     "pain", "pride", "relief", "shame", "sympathy", "triumph", "desire", "disappointment"}


def _aus(name: str) -> set[int]:
    return {int(a[2:]) for a in facs.emotions()[name]["aus"]}


def test_basic_emotions_follow_emfacs():
    emos = facs.emotions()
    assert set(facs.BASIC_EMOTIONS) <= set(emos)
    for name, ref in EMFACS.items():
        assert emos[name]["kind"] == "basic"
        assert _aus(name) == ref, name
    assert emos["contempt"]["sides"] == {"AU12": "left", "AU14": "left"}


def test_all_du_compounds_with_their_table_aus():
    emos = facs.emotions()
    compounds = {n for n, e in emos.items() if e["kind"] == "compound"}
    assert compounds == DU_COMPOUNDS
    for name in compounds:
        assert _aus(name) == DU_TABLE[name], name
        comps = emos[name]["components"]
        assert set(comps) <= set(facs.BASIC_EMOTIONS)
        assert sum(comps.values()) == pytest.approx(1.0)


def test_extended_emotions():
    emos = facs.emotions()
    extended = {n for n, e in emos.items() if e["kind"] == "extended"}
    assert len(extended) >= 15
    assert REQUIRED_EXTENDED <= extended


def test_every_emotion_is_complete_and_uses_catalogued_aus():
    cat = facs.au_catalog()
    for name, e in facs.emotions().items():
        for au, x in e["aus"].items():
            assert au in cat, (name, au)
            assert 0 < x <= 1, (name, au)
        for au, side in (e.get("sides") or {}).items():
            assert au in e["aus"] and side in ("left", "right")
            assert cat[au]["unilateral"], (name, au)
        t = e["timing"]
        assert 0 < t["onset"] <= 3 and 0 < t["apex"] <= 6 and 0 < t["offset"] <= 3, name
        assert -1 <= e["valence"] <= 1 and -1 <= e["arousal"] <= 1, name
        assert len(e["description"]) > 20 and len(e["situations"]) >= 2, name
        assert 0 <= e["typical_intensity"] <= 1


@pytest.mark.parametrize("name", ["emotions", "rules", "lexicon_en", "lexicon_zh", "arkit", "aus"])
def test_sources_cited_in_header(name):
    text = resources.files("thinkdraw.facs").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    header = text.split("\n\n")[0] if not text.startswith("#") else "\n".join(
        line for line in text.splitlines()[:40] if line.startswith("#"))
    assert "Source" in header or "source" in header, name


def test_conflict_rules_reference_catalogued_aus():
    cat = facs.au_catalog()
    rules = facs.rules()
    pairs = {tuple(r["aus"]) for r in rules["conflicts"]}
    assert ("AU12", "AU15") in pairs and ("AU5", "AU43") in pairs and ("AU24", "AU26") in pairs
    assert ("AU5", "AU7") in pairs
    for r in rules["conflicts"]:
        assert all(a in cat for a in r["aus"]) and 0 <= r["factor"] < 1 and r["why"]
    for name, prof in rules["masking"].items():
        assert all(a in cat for a in prof["control"]), name
        for key in ("felt", "shown", "felt_default"):
            if prof.get(key):
                assert prof[key] in facs.emotions(), (name, key)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lexicons_point_at_known_emotions_and_profiles(lang):
    lex = facs.lexicon(lang)
    emos = facs.emotions()
    assert set(lex["words"]) <= set(emos)
    for spec in lex["mixtures"].values():
        assert set(spec["emotions"]) <= set(emos)
        assert sum(spec["emotions"].values()) == pytest.approx(1.0)
    profiles = set(facs.rules()["masking"])
    assert {m["profile"] for m in lex["masking"]} <= profiles
    assert lex["intensifiers"]["before"] and lex["negation"]["words"]


def test_lexicon_has_required_words():
    en, zh = facs.lexicon("en"), facs.lexicon("zh")
    assert {"slightly", "very", "extremely"} <= set(en["intensifiers"]["before"])
    assert {"有点", "非常", "极"} <= set(zh["intensifiers"]["before"])
    assert "极了" in zh["intensifiers"]["after"]
    pats = " ".join(m["pattern"] for m in zh["masking"])
    assert "强颜欢笑" in pats


def test_arkit_table():
    names = facs.arkit_blendshapes()
    assert len(names) == 52 and len(set(names)) == 52
    for au, m in facs.arkit_map().items():
        for template in m:
            for side in ("Left", "Right"):
                assert template.replace("{S}", side) in names, (au, template)
    assert set(facs.au_catalog()) <= set(facs.arkit_map())
    out = facs.au_to_arkit({"AU12": 0.5, "AU14": 0.4}, {"AU14": "left"})
    assert out == {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5, "mouthDimpleLeft": 0.4}
