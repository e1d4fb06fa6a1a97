"""YIN F0, energy and voicing on signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from thinkdraw.speech.prosody import analyse


@pytest.mark.parametrize("f0", [80.0, 120.0, 220.0, 400.0])
def test_yin_harmonic_tone(f0):
    sr = 16000
    t = np.arange(sr) / sr
    x = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6)).astype(np.float32)
    p = analyse(x)
    mid = p["f0"][10:-10]
    assert len(p["f0"]) == 100
    assert np.all(np.abs(mid - f0) / f0 < 0.02)
    assert p["voicing"][10:-10].min() == 1


def test_silence_and_noise_unvoiced():
    sr = 16000
    rng = np.random.default_rng(0)
    x = np.concatenate([np.zeros(sr // 2), 0.1 * rng.standard_normal(sr // 2)]).astype(np.float32)
    p = analyse(x)
    assert p["energy_db"][:40].max() == pytest.approx(-100.0)
    assert -25 < np.median(p["energy_db"][60:]) < -15  # 0.1 RMS = -20 dBFS
    assert p["voicing"][:40].max() == 0 and p["voicing"][60:].mean() < 0.2


def test_empty_input():
    p = analyse(np.zeros(0, np.float32))
    assert all(len(v) == 0 for v in p.values())
