"""SpeechTrack JSON contract and frame features."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from thinkdraw.speech.phonemes import ARPABET, ipa_to_arpabet, viseme_classes, viseme_table
from thinkdraw.speech.track import FEATURE_NAMES, SpeechTrack


def test_json_contract_fields(piper_track):
    data = json.loads(piper_track.to_json())
    for key in ("audio", "duration", "sample_rate", "words", "phonemes", "warnings"):
        assert key in data
    assert isinstance(data["audio"], str) and data["duration"] > 0 and data["sample_rate"] == 22050
    assert all(set(w) >= {"w", "start", "end"} for w in data["words"])
    assert all(set(p) >= {"p", "start", "end"} for p in data["phonemes"])
    assert all(p["p"] in ARPABET and not any(c.isdigit() for c in p["p"]) for p in data["phonemes"])
    assert all(isinstance(w, str) for w in data["warnings"])
    again = SpeechTrack.model_validate_json(piper_track.to_json())
    assert again.words == piper_track.words


@pytest.mark.parametrize("fps", [25, 30, 120])
def test_features_shape_columns_ranges(piper_track, fps):
    f = piper_track.features(fps)
    assert f.dtype == np.float32
    assert f.shape == (math.ceil(piper_track.duration * fps), len(FEATURE_NAMES))
    assert piper_track.columns == FEATURE_NAMES == ("phoneme_id", "viseme", "log_f0", "energy_db", "voicing")
    assert f[:, 0].min() >= 0 and f[:, 0].max() < len(ARPABET)
    assert f[:, 1].min() >= 0 and f[:, 1].max() < len(viseme_classes())
    assert (f[:, 0] > 0).mean() > 0.5  # mostly speech
    voiced = f[:, 2] > 0
    assert voiced.any() and np.all((f[voiced, 2] > np.log(50)) & (f[voiced, 2] < np.log(600)))
    assert f[:, 3].min() >= -100 and f[:, 3].max() <= 0
    assert f[:, 4].min() >= 0 and f[:, 4].max() <= 1


def test_features_follow_phonemes():
    t = SpeechTrack(audio="x.wav", duration=1.0, sample_rate=16000,
                    phonemes=[{"p": "M", "start": 0.2, "end": 0.6}])  # fmt: skip
    f = t.features(10)
    assert f.shape == (10, 5)
    assert list(f[:, 0]) == [0, 0] + [ARPABET.index("M")] * 4 + [0] * 4
    assert set(f[2:6, 1]) == {viseme_classes().index("MBP")}


def test_viseme_table_covers_arpabet():
    assert set(viseme_table()) == set(ARPABET)


def test_ipa_to_arpabet():
    assert ipa_to_arpabet("həlˈoʊ") == ("HH", "AH", "L", "OW")
    assert ipa_to_arpabet("ˈtʃɜːtʃ") == ("CH", "ER", "CH")
    assert ipa_to_arpabet("") == ()
