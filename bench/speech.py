"""SPEECH benchmark: alignment accuracy and speed, TTS speed, memory on a 60-minute file.

Run: ``.venv/bin/python bench/speech.py`` (full, 60-minute file) or ``--quick`` (5 minutes).
Prints markdown tables.

- Phoneme-boundary error: espeak-ng synthesises sentences and reports where each phoneme starts
  (its phoneme events carry sample positions: the truth). The audio is aligned by pocketsphinx
  with the sentence as transcript; espeak's IPA events are mapped to ARPAbet
  (thinkdraw/speech/data/ipa_arpabet.yaml) and the two label sequences are matched with difflib
  (identical labels in matching blocks only, see thinkdraw/speech/metrics.py); the error is
  |aligned start - espeak start| per matched phoneme.
- Real-time factor = wall time / audio duration.
- Peak memory: ru_maxrss of this process (resource.getrusage) before and after aligning a
  60-minute wav made of espeak sentences and pauses, written to a temp file and aligned in chunks.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thinkdraw.speech.align import align  # noqa: E402
from thinkdraw.speech.audio import to_int16, write_wav  # noqa: E402
from thinkdraw.speech.espeak import Espeak  # noqa: E402
from thinkdraw.speech.metrics import boundary_errors  # noqa: E402
from thinkdraw.speech.tts import espeak_phonemes, synthesize  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "She sells sea shells by the sea shore every summer morning.",
    "Please remember to bring the blue umbrella when you visit the museum.",
    "My grandfather planted seven apple trees behind the old stone house.",
    "We should check the weather before we drive to the mountains tomorrow.",
    "Reading a good book by the fire is my favourite way to spend the evening.",
    "The children laughed loudly while the puppy chased its own tail.",
    "Thank you very much for helping me move all of these heavy boxes.",
    "A cold wind blew across the frozen lake as the sun went down.",
    "Could you tell me how to get to the nearest train station from here?",
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_alignment(tmp: Path, n: int) -> tuple[list[str], float, float]:
    errs_all, matched_all, rtf_wall, rtf_audio = [], [], 0.0, 0.0
    rows = []
    for i, text in enumerate(SENTENCES[:n]):
        res = Espeak.get().synth(text)
        truth = espeak_phonemes(res.phones, len(res.audio), res.sample_rate)
        path = write_wav(tmp / f"s{i}.wav", res.audio, res.sample_rate)
        t0 = time.perf_counter()
        tr = align(path, text)
        wall = time.perf_counter() - t0
        errs, matched = boundary_errors(tr.phonemes, truth)
        errs_all.append(errs)
        matched_all.append(matched)
        rtf_wall += wall
        rtf_audio += tr.duration
        rows.append(f"| {i} | {tr.duration:.2f} | {len(errs)} | {matched:.2f} | {1000 * np.median(errs):.1f} | {1000 * np.mean(errs):.1f} | {wall / tr.duration:.3f} |")
    e = np.concatenate(errs_all)
    print("## Alignment vs espeak-ng phoneme events (transcript given)\n")
    print("espeak's IPA phoneme events -> ARPAbet (data/ipa_arpabet.yaml); the aligned and the espeak")
    print("non-silence label sequences are matched with difflib (identical labels in matching blocks);")
    print("error = |aligned phoneme start - espeak phoneme start|.\n")
    print("| sentence | audio s | matched phonemes | match rate | median err ms | mean err ms | RTF |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"| **all** | {rtf_audio:.1f} | {len(e)} | {np.mean(matched_all):.2f} | **{1000 * np.median(e):.1f}** | {1000 * np.mean(e):.1f} | **{rtf_wall / rtf_audio:.3f}** |")
    print(f"\nWithin 20 ms: {100 * np.mean(e <= 0.02):.0f} %, within 50 ms: {100 * np.mean(e <= 0.05):.0f} % (target median <= 30 ms, RTF <= 0.3)\n")
    # no transcript
    t0 = time.perf_counter()
    dur = 0.0
    for i in range(min(n, 3)):
        dur += align(tmp / f"s{i}.wav").duration
    rec_rtf = (time.perf_counter() - t0) / dur
    return rows, float(np.median(e)), rec_rtf


def bench_tts(tmp: Path, n: int) -> None:
    print("## TTS real-time factor\n")
    print("| voice | emotion | audio s | synth s | synth RTF | with alignment s | total RTF |")
    print("|---|---|---|---|---|---|---|")
    synthesize("Warm up.", tmp / "w.wav", None, "piper")
    text = " ".join(SENTENCES[:n])
    for voice in ("piper", "espeak"):
        for emo in (None, "very excited", "very sad"):
            t0 = time.perf_counter()
            tr = synthesize(text, tmp / f"{voice}.wav", emo, voice)
            total = time.perf_counter() - t0
            syn = tr.prosody_summary["synth_seconds"]
            print(f"| {voice} | {emo or 'neutral'} | {tr.duration:.1f} | {syn:.2f} | {syn / tr.duration:.3f} | {total:.2f} | {total / tr.duration:.3f} |")
    print()


def make_long_wav(path: Path, minutes: float) -> tuple[float, str]:
    """Write a wav of espeak sentences + pauses, streaming (never the whole file in memory)."""
    sr = Espeak.get().sample_rate
    pieces = []
    for text in SENTENCES:
        res = Espeak.get().synth(text)
        pieces.append((text, np.concatenate([res.audio, np.zeros(int(0.7 * sr), np.float32)])))
    target = int(minutes * 60 * sr)
    written = 0
    words: list[str] = []
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(sr)
        i = 0
        while written < target:
            text, x = pieces[i % len(pieces)]
            wf.writeframes(to_int16(x).tobytes())
            written += len(x)
            words.append(text)
            i += 1
    return written / sr, " ".join(words)


def bench_long(tmp: Path, minutes: float, modes: tuple[str, ...] = ("transcript", "none")) -> None:
    path = tmp / "long.wav"
    dur, transcript = make_long_wav(path, minutes)
    before = rss_mb()
    print(f"## Long file: {dur / 60:.1f} min of speech + pauses ({path.stat().st_size / 1e6:.0f} MB wav)\n")
    print("| mode | wall s | RTF | words | phonemes | peak RSS before MB | peak RSS after MB |")
    print("|---|---|---|---|---|---|---|")
    n_ref = len(transcript.split())
    if "transcript" in modes:
        t0 = time.perf_counter()
        tr = align(path, transcript)
        wall = time.perf_counter() - t0
        print(f"| transcript | {wall:.1f} | {wall / dur:.3f} | {len(tr.words)} / {n_ref} | {len(tr.phonemes)} | {before:.0f} | {rss_mb():.0f} |")
    if "none" in modes:
        t0 = time.perf_counter()
        tr = align(path)
        wall = time.perf_counter() - t0
        print(f"| no transcript | {wall:.1f} | {wall / dur:.3f} | {len(tr.words)} / {n_ref} | {len(tr.phonemes)} | {before:.0f} | {rss_mb():.0f} |")
        print(f"\nwarnings: {tr.warnings[:3]}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 sentences, 5-minute long file")
    ap.add_argument("--minutes", type=float, default=None, help="length of the long file (default 60, quick 5)")
    ap.add_argument("--long-only", action="store_true", help="only the long-file benchmark")
    ap.add_argument("--long-modes", default="transcript,none", help="comma list: transcript, none")
    args = ap.parse_args()
    n = 5 if args.quick else len(SENTENCES)
    minutes = args.minutes or (5.0 if args.quick else 60.0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.long_only:
            _, med, rec_rtf = bench_alignment(tmp, n)
            print(f"Recognise-then-align (no transcript) RTF: {rec_rtf:.3f}\n")
            bench_tts(tmp, 3)
        bench_long(tmp, minutes, tuple(args.long_modes.split(",")))


if __name__ == "__main__":
    main()
