"""espeak-ng through ctypes on the library bundled by ``espeakng-loader``.

Synchronous synthesis with phoneme and word events: espeak reports, for every phoneme it
speaks, the sample position where it starts, so espeak's own output comes with exact phoneme
timings (the ground truth used by bench/speech.py). Phoneme names are requested as IPA
(espeakINITIALIZE_PHONEME_IPA) and mapped to ARPAbet with ``phonemes.ipa_to_arpabet``.

One process-wide engine guarded by a lock (espeak-ng keeps global state).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

import numpy as np

from thinkdraw.errors import BackendError

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_CHARS_UTF8 = 1
_EV_LIST_TERMINATED, _EV_WORD, _EV_SENTENCE, _EV_END, _EV_PHONEME = 0, 1, 2, 5, 7
_P_RATE, _P_VOLUME, _P_PITCH, _P_RANGE = 1, 2, 3, 4


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the input
        ("length", ctypes.c_int),  # word length in characters
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample position in the output stream
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakParams:
    """espeak-ng voice parameters (speak_lib.h ranges)."""

    rate: int = 175  # words per minute, 80-450
    pitch: int = 50  # base pitch, 0-100
    pitch_range: int = 50  # pitch range (intonation), 0-100
    volume: int = 100  # amplitude, 0-200


@dataclass
class EspeakResult:
    """audio: (n,) float32 in [-1, 1] at sample_rate; phones: (ipa, start sample); words: (char pos, length, start sample)."""

    audio: np.ndarray
    sample_rate: int
    phones: list[tuple[str, int]] = field(default_factory=list)
    words: list[tuple[int, int, int]] = field(default_factory=list)


class Espeak:
    """The process-wide espeak-ng engine (use ``Espeak.get()``)."""

    _instance: "Espeak | None" = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader

            self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = espeakng_loader.get_data_path()
        except (ImportError, OSError, RuntimeError) as exc:
            raise BackendError(f"espeak-ng (espeakng-loader) is not usable: {exc}") from exc
        lib = self._lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
        if rate <= 0:
            raise BackendError("espeak-ng failed to initialise")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._cb = _CALLBACK(self._on_audio)  # keep a reference: ctypes callbacks must stay alive
        lib.espeak_SetSynthCallback(self._cb)
        self._voice = ""

    @classmethod
    def get(cls) -> "Espeak":
        with cls._lock:
            if cls._instance is None:
                cls._instance = Espeak()
            return cls._instance

    def _on_audio(self, wav, n, events) -> int:  # noqa: ANN001 (ctypes callback)
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EV_PHONEME:
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._events.append((ev.type, ev.text_position, ev.length, ev.sample, name))
            elif ev.type == _EV_WORD:
                self._events.append((ev.type, ev.text_position, ev.length, ev.sample, ""))
            i += 1
        return 0

    def _set_voice(self, voice: str) -> None:
        if voice != self._voice:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise BackendError(f"espeak-ng has no voice {voice!r}")
            self._voice = voice

    def synth(self, text: str, voice: str = "en-us", params: EspeakParams = EspeakParams()) -> EspeakResult:
        """Synthesise ``text`` with phoneme/word events. Thread-safe (serialised)."""
        with self._lock:
            self._set_voice(voice)
            lib = self._lib
            lib.espeak_SetParameter(_P_RATE, int(np.clip(params.rate, 80, 450)), 0)
            lib.espeak_SetParameter(_P_PITCH, int(np.clip(params.pitch, 0, 100)), 0)
            lib.espeak_SetParameter(_P_RANGE, int(np.clip(params.pitch_range, 0, 100)), 0)
            lib.espeak_SetParameter(_P_VOLUME, int(np.clip(params.volume, 0, 200)), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8")
            buf = ctypes.create_string_buffer(data)
            err = lib.espeak_Synth(buf, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            if err != 0:
                raise BackendError(f"espeak-ng synthesis failed (code {err})")
            audio = (np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
            phones = [(name, s) for t, _, _, s, name in self._events if t == _EV_PHONEME]
            words = [(pos, ln, s) for t, pos, ln, s, _ in self._events if t == _EV_WORD]
            return EspeakResult(audio=audio, sample_rate=self.sample_rate, phones=phones, words=words)

    def to_ipa(self, text: str, voice: str = "en-us") -> str:
        """IPA transcription of ``text`` (no audio), clauses joined by spaces."""
        with self._lock:
            self._set_voice(voice)
            buf = ctypes.create_string_buffer(text.encode("utf-8"))
            ptr = ctypes.c_void_p(ctypes.addressof(buf))
            parts: list[str] = []
            for _ in range(10000):  # bounded: one clause per call
                if not ptr.value:
                    break
                res = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, 0x02)
                if res:
                    parts.append(res.decode("utf-8", "replace"))
            return " ".join(p for p in parts if p)
