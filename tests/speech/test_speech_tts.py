"""TTS: piper and espeak voices, Chinese, emotional prosody, CLI speak."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from thinkdraw.errors import InputError
from thinkdraw.speech.audio import load_audio
from thinkdraw.speech.tts import MAX_TEXT_CHARS, Affect, ProsodyTargets, affect_from, synthesize


def test_piper_non_silent_plausible_words(piper_track):
    x = load_audio(piper_track.audio)
    assert np.sqrt(np.mean(x**2)) > 0.02
    assert 1.5 < piper_track.duration < 6.0  # 7 words
    assert [w.w for w in piper_track.words] == ["good", "morning", "the", "weather", "is", "lovely", "today"]
    starts = [w.start for w in piper_track.words]
    assert starts == sorted(starts) and piper_track.words[-1].end <= piper_track.duration + 1e-6
    assert piper_track.source == "piper" and not piper_track.warnings


def test_espeak_chinese(speech_dir):
    tr = synthesize("今天天气很好，我们去公园散步吧。", speech_dir / "cmn.wav", voice="auto")
    assert tr.source == "espeak" and tr.language == "cmn"
    assert tr.duration > 1.0 and len(tr.words) >= 8
    assert {"CH", "T", "IY"} <= {p.p for p in tr.phonemes}
    assert np.abs(load_audio(tr.audio)).max() > 0.05


def test_piper_voice_on_chinese_warns(speech_dir):
    tr = synthesize("你好", speech_dir / "cmn2.wav", voice="piper")
    assert tr.source == "espeak" and any("English only" in w for w in tr.warnings)


@pytest.mark.parametrize("voice", ["piper", "espeak"])
def test_emotion_changes_rate_and_pitch(speech_dir, voice):
    # explicit affects (not text through THINK), so this checks the voice alone: rate 1.17 vs 0.89
    text = "I have some news about the garden party tomorrow afternoon."
    excited, sad = Affect(0.7, 0.9, 0.85, "excited"), Affect(-0.7, -0.5, 0.85, "sad")
    ex = synthesize(text, speech_dir / f"{voice}_ex.wav", excited, voice)
    sd = synthesize(text, speech_dir / f"{voice}_sad.wav", sad, voice)
    why = f"excited {ex.duration:.3f} s {ex.prosody_targets}, sad {sd.duration:.3f} s {sd.prosody_targets}"
    assert ex.prosody_targets["rate"] > 1.2 > 0.9 > sd.prosody_targets["rate"], why
    assert ex.duration < 0.9 * sd.duration, why  # faster
    assert ex.prosody_summary["f0_median_hz"] > 1.1 * sd.prosody_summary["f0_median_hz"], why  # higher


def test_emotion_text_reaches_prosody_through_think():
    ex, sad = affect_from("very excited"), affect_from("very sad")
    assert ex.arousal > 0.3 > -0.2 > sad.arousal and ex.valence > 0 > sad.valence, (ex, sad)
    assert ProsodyTargets.from_affect(ex).rate > 1.1 > 0.95 > ProsodyTargets.from_affect(sad).rate


def test_emotion_plan_fields_drive_targets():
    plan = {"valence": -0.8, "arousal": -0.7, "intensity": 1.0, "emotions": [{"name": "sadness", "weight": 1.0}]}
    a = affect_from(plan)
    assert a.label == "sadness" and a.arousal == -0.7
    tg = ProsodyTargets.from_affect(a)
    assert tg.rate < 0.85 and tg.pitch_st < 0 and tg.gain_db < 0
    assert ProsodyTargets.from_affect(affect_from(None)) == ProsodyTargets()


def test_bad_text(speech_dir):
    with pytest.raises(InputError, match="empty"):
        synthesize("   ", speech_dir / "e.wav")
    with pytest.raises(InputError, match=str(MAX_TEXT_CHARS)):
        synthesize("a" * (MAX_TEXT_CHARS + 1), speech_dir / "e.wav")
    assert not (speech_dir / "e.wav").exists()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thinkdraw", *args], capture_output=True, text=True, timeout=120)


def test_cli_speak_json(speech_dir):
    out = speech_dir / "cli.wav"
    r = _cli("speak", "Hello world.", "-o", str(out), "--voice", "espeak", "--emotion", "happy", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)  # stdout is exactly the JSON
    assert data["audio"] == str(out) and out.exists() and [w["w"] for w in data["words"]] == ["Hello", "world"]
    assert not list(speech_dir.glob(".cli.*"))  # no temp file left


@pytest.mark.parametrize(
    "args,message",
    [
        (["speak", "", "-o", "x.wav"], "text to say is empty"),
        (["speak", "a" * 6000, "-o", "x.wav"], "the limit is 5000"),
        (["speak", "hello", "-o", "x.mp3"], "output must be a .wav file"),
        (["align", "/nonexistent/file.wav", "--json"], "audio file not found"),
        (["align", "notes.txt", "--json"], "not a readable audio file"),
    ],
)
def test_cli_errors(tmp_path, args, message):
    (tmp_path / "notes.txt").write_text("hello, this is not audio\n" * 20)
    r = _cli(*[str(tmp_path / a) if a in ("x.wav", "x.mp3", "notes.txt") else a for a in args])
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and message in r.stderr and r.stderr.startswith("thinkdraw ")


def test_emotion_plan_object_attributes():
    from types import SimpleNamespace

    plan = SimpleNamespace(valence=0.6, arousal=0.9, intensity=0.8, emotions=[SimpleNamespace(name="joy", weight=1.0)])
    a = affect_from(plan)
    assert (a.valence, a.arousal, a.intensity, a.label) == (0.6, 0.9, 0.8, "joy")
    tg = ProsodyTargets.from_affect(a)
    assert tg.rate > 1.2 and tg.pitch_st > 2 and tg.gain_db > 0


def test_emotion_text_uses_think_or_lexicon():
    ex, sad = affect_from("very excited"), affect_from("very sad")
    assert ex.arousal > sad.arousal and ex.valence > sad.valence


def test_piper_several_sentences_numbers(speech_dir):
    from thinkdraw.speech.tts import split_sentences

    assert split_sentences("Pi is 3.14. Really?  Yes! ...") == ["Pi is 3.14.", "Really?", "Yes!"]
    tr = synthesize("Pi is 3.14, roughly. Really? Yes!", speech_dir / "pi.wav", None, "piper")
    assert [w.w for w in tr.words][:2] == ["pi", "is"] and [w.w for w in tr.words][-2:] == ["really", "yes"]
    assert not tr.warnings
    ends = [p.end for p in tr.phonemes]
    assert ends == sorted(ends) and abs(ends[-1] - tr.duration) < 1e-3


def test_speak_shows_a_stage_bar_only_when_asked(tmp_path, capsys):
    from thinkdraw.speech.tts import synthesize

    synthesize("One two three.", tmp_path / "a.wav", None, "espeak", progress=True)
    shown = capsys.readouterr().err
    assert "speak: espeak voice" in shown and "speak: prosody" in shown
    synthesize("One two three.", tmp_path / "b.wav", None, "espeak", progress=False)
    assert "speak" not in capsys.readouterr().err
