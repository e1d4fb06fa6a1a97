"""Frame-level prosody from audio: F0 (YIN), energy (RMS dB) and voicing, vectorised numpy.

F0 follows YIN (de Cheveigné & Kawahara, "YIN, a fundamental frequency estimator for speech
and music", JASA 111(4), 2002): difference function d(tau) (eq. 6, computed with FFT
cross-correlation), cumulative mean normalised difference d'(tau) (eq. 8), absolute threshold
(step 4), parabolic interpolation (step 5). All frames are processed at once as a matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
"""Prosody is computed on 16 kHz mono audio (the alignment rate)."""


@dataclass(frozen=True)
class ProsodyConfig:
    hop_s: float = 0.010  # frame hop in seconds (100 frames/s)
    window_s: float = 0.025  # YIN integration window W in seconds
    fmin: float = 60.0  # lowest F0 searched, Hz
    fmax: float = 500.0  # highest F0 searched, Hz
    threshold: float = 0.15  # YIN absolute threshold on d'(tau) for choosing the period (paper: 0.1-0.15)
    voicing_threshold: float = 0.45  # a frame is voiced if its aperiodicity d'(tau*) is below this
    silence_db: float = -50.0  # frames quieter than this (dBFS RMS) are unvoiced
    floor_db: float = -100.0  # energy floor, dBFS


def frame_signal(x: np.ndarray, frame_len: int, hop: int, n_frames: int) -> np.ndarray:
    """(N,) -> (n_frames, frame_len) strided view-copy, zero-padded at the end."""
    need = (n_frames - 1) * hop + frame_len
    if len(x) < need:
        x = np.pad(x, (0, need - len(x)))
    idx = np.arange(frame_len)[None, :] + hop * np.arange(n_frames)[:, None]
    return x[idx]


def n_frames_for(n_samples: int, hop: int) -> int:
    """Number of prosody frames for ``n_samples`` (frame i is centred at i * hop)."""
    return int(np.ceil(n_samples / hop)) if n_samples > 0 else 0


def energy_db(x: np.ndarray, sr: int = SAMPLE_RATE, cfg: ProsodyConfig = ProsodyConfig()) -> np.ndarray:
    """RMS energy in dBFS per frame: (N,) float in [-1, 1] -> (n_frames,) in [floor_db, ~0]."""
    hop = int(round(cfg.hop_s * sr))
    win = int(round(cfg.window_s * sr))
    n = n_frames_for(len(x), hop)
    if n == 0:
        return np.zeros(0, np.float32)
    padded = np.pad(x.astype(np.float32), (win // 2, win))
    frames = frame_signal(padded, win, hop, n)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    db = 20.0 * np.log10(np.maximum(rms, 10 ** (cfg.floor_db / 20)))
    return db.astype(np.float32)


def yin(x: np.ndarray, sr: int = SAMPLE_RATE, cfg: ProsodyConfig = ProsodyConfig()) -> tuple[np.ndarray, np.ndarray]:
    """YIN F0 per frame. x: (N,) float. Returns (f0 Hz (n,), aperiodicity d'(tau*) in [0, ~1] (n,)).

    Period: the first local minimum of d' below ``threshold``, else the global minimum (YIN step
    4). Voicing is decided by the caller from the aperiodicity (``analyse``).
    """
    hop = int(round(cfg.hop_s * sr))
    win = int(round(cfg.window_s * sr))
    tau_min = max(2, int(sr / cfg.fmax))
    tau_max = int(sr / cfg.fmin)
    n = n_frames_for(len(x), hop)
    if n == 0:
        return np.zeros(0, np.float32), np.ones(0, np.float32)
    padded = np.pad(x.astype(np.float32), (win // 2, win + tau_max))
    frames = frame_signal(padded, win + tau_max, hop, n)  # (n, W + tau_max)
    nfft = 1 << int(np.ceil(np.log2(win + tau_max + win)))
    # r(tau) = sum_{j<W} x_j x_{j+tau}: cross-correlation of the first W samples with the frame.
    spec_full = np.fft.rfft(frames, nfft, axis=1)
    spec_head = np.fft.rfft(frames[:, :win], nfft, axis=1)
    acf = np.fft.irfft(np.conj(spec_head) * spec_full, nfft, axis=1)[:, : tau_max + 1]
    sq = np.concatenate([np.zeros((n, 1), np.float32), np.cumsum(frames.astype(np.float64) ** 2, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    e0 = sq[:, win][:, None]  # sum_{j<W} x_j^2
    e_tau = sq[:, taus + win] - sq[:, taus]  # sum_{j<W} x_{j+tau}^2
    d = np.maximum(e0 + e_tau - 2.0 * acf, 0.0)  # eq. 6/7
    d[:, 0] = 0.0
    cum = np.cumsum(d[:, 1:], axis=1)
    dn = np.ones_like(d)
    dn[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum, 1e-12)  # eq. 8
    search = dn[:, tau_min : tau_max + 1]
    below = search < cfg.threshold
    # first dip below threshold, then walk to its local minimum (YIN step 4)
    local_min = np.zeros_like(below)
    local_min[:, :-1] = search[:, :-1] <= search[:, 1:]
    cand = below & local_min
    has = cand.any(axis=1)
    first = np.where(has, cand.argmax(axis=1), search.argmin(axis=1))
    rows = np.arange(n)
    tau = first + tau_min
    # parabolic interpolation (step 5)
    t_lo = np.clip(tau - 1, 1, tau_max)
    t_hi = np.clip(tau + 1, 1, tau_max)
    a, b, c = dn[rows, t_lo], dn[rows, tau], dn[rows, t_hi]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    tau_f = tau + np.clip(shift, -1, 1)
    aper = dn[rows, tau].astype(np.float32)
    f0 = (sr / tau_f).astype(np.float32)
    return f0, aper


def analyse(x: np.ndarray, sr: int = SAMPLE_RATE, cfg: ProsodyConfig = ProsodyConfig()) -> dict[str, np.ndarray]:
    """Prosody of a 16 kHz mono float signal at ``cfg.hop_s``.

    Returns {'f0': Hz (0 = unvoiced), 'energy_db': dBFS, 'voicing': 0/1}, each (n_frames,) float32.
    Processed in blocks of 60 s so memory stays bounded for long inputs.
    """
    hop = int(round(cfg.hop_s * sr))
    block = hop * 6000
    f0s, aps, ens = [], [], []
    for start in range(0, max(len(x), 1), block):
        seg = x[start : start + block]
        if len(seg) == 0:
            break
        f0, ap = yin(seg, sr, cfg)
        f0s.append(f0)
        aps.append(ap)
        ens.append(energy_db(seg, sr, cfg))
    if not f0s:
        z = np.zeros(0, np.float32)
        return {"f0": z, "energy_db": z, "voicing": z}
    f0 = np.concatenate(f0s)
    en = np.concatenate(ens)
    aper = np.concatenate(aps)
    voiced = (aper < cfg.voicing_threshold) & (en > cfg.silence_db)
    f0 = np.where(voiced, f0, 0.0).astype(np.float32)
    return {"f0": f0, "energy_db": en, "voicing": voiced.astype(np.float32)}
