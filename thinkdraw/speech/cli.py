"""Sub-commands ``thinkdraw speak`` and ``thinkdraw align`` (registering is cheap; work is lazy)."""

from __future__ import annotations

import argparse
import sys

from thinkdraw.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    sp = subparsers.add_parser("speak", help="text -> wav + SpeechTrack (piper or espeak-ng voice)")
    sp.add_argument("text", help="what to say (at most 5000 characters)")
    sp.add_argument("-o", "--output", required=True, help="output .wav path (written atomically)")
    sp.add_argument("--emotion", default=None, help="feeling to speak with, e.g. 'very excited'")
    sp.add_argument("--voice", choices=("piper", "espeak", "auto"), default="auto")
    sp.add_argument("--json", action="store_true", help="print the SpeechTrack JSON on stdout")
    sp.set_defaults(handler=_speak)

    ap = subparsers.add_parser("align", help="audio (+ transcript) -> SpeechTrack with phoneme timings")
    ap.add_argument("audio", help="wav, mp3, flac, m4a/aac or ogg; any rate and channels; up to 3 h")
    ap.add_argument("--transcript", default=None, help="the words spoken (else recognised)")
    ap.add_argument("--language", default="en", help="'en' aligns; other languages get an energy mouth track")
    ap.add_argument("--json", action="store_true", help="print the SpeechTrack JSON on stdout")
    ap.add_argument("-o", "--output", default=None, help="also write the SpeechTrack JSON here")
    ap.set_defaults(handler=_align)


def _speak(args: argparse.Namespace) -> int:
    from thinkdraw.speech.tts import synthesize

    if not str(args.output).lower().endswith(".wav"):
        raise InputError(f"output must be a .wav file: {args.output}")
    track = synthesize(args.text, args.output, emotion=args.emotion, voice=args.voice, progress=sys.stderr.isatty())
    _emit(track, args.json)
    return 0


def _align(args: argparse.Namespace) -> int:
    from thinkdraw.speech.align import align

    track = align(args.audio, transcript=args.transcript, language=args.language, progress=sys.stderr.isatty())
    if args.output:
        from thinkdraw.utils.atomic import atomic_write_text

        atomic_write_text(args.output, track.to_json(indent=1))
    _emit(track, args.json)
    return 0


def _emit(track, as_json: bool) -> None:  # noqa: ANN001
    from thinkdraw.utils.logs import get_logger

    for w in track.warnings:
        get_logger(__name__).warning(w)
    if as_json:
        sys.stdout.write(track.to_json() + "\n")
    else:
        get_logger(__name__).info(
            "%s: %.2f s, %d words, %d phonemes", track.audio, track.duration, len(track.words), len(track.phonemes)
        )
