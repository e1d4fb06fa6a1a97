"""Judges: fer's FER2013 classifier, dlib identity distance, the closed loop (structure)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from render_edits import jaw_drop, smile


def test_fer_judge_on_the_source(astronaut):
    pytest.importorskip("ai_edge_litert")
    from thinkdraw.eval.fer_judge import FER_CLASSES, FerJudge

    judge = FerJudge()
    res = judge.judge(astronaut[0])
    assert res is not None and set(res.scores) == set(FER_CLASSES)
    assert res.top == "happy"  # the astronaut smiles broadly
    boxed = judge.judge(astronaut[0], box=astronaut[1].box)
    assert boxed is not None and boxed.top == "happy"
    assert judge.judge(np.full((200, 200, 3), 127, np.uint8)) is None  # no face


def test_identity_distance(astronaut, renderer):
    pytest.importorskip("dlib")
    from thinkdraw.eval.identity import SAME_PERSON_THRESHOLD, IdentityJudge

    judge = IdentityJudge()
    img, portrait = astronaut
    lm = np.asarray(portrait.landmarks, dtype=np.float64)
    assert judge.distance(img, img) == pytest.approx(0.0, abs=1e-6)
    d = judge.distance(img, renderer.render(jaw_drop(smile(lm))))
    assert 0.0 < d < SAME_PERSON_THRESHOLD
    other = np.ascontiguousarray(img[:, ::-1])  # a mirrored face is still embedded
    assert np.isfinite(judge.distance(img, other))
    assert np.isnan(judge.distance(img, np.full((200, 200, 3), 127, np.uint8)))


def test_identity_distances_fall_back_to_the_face_box(astronaut):
    pytest.importorskip("dlib")
    from thinkdraw.eval.identity import IdentityJudge

    judge = IdentityJudge()
    img, portrait = astronaut
    small = cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA)  # too small for dlib's detector
    box = tuple(v * 128 / img.shape[1] for v in portrait.box)
    assert judge.embed(small) is None
    grey = np.full_like(small, 127)
    plain = judge.distances(small, [small, grey])
    assert np.isnan(plain).all()
    boxed = judge.distances(small, [small, grey], box=box)
    assert boxed[0] == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(boxed[1])  # the box is taken on faith: a grey frame still gets a descriptor
    d = judge.distances(img, [img, grey])  # no box: dlib's detector alone
    assert d[0] == pytest.approx(0.0, abs=1e-6) and np.isnan(d[1])


def test_closed_loop_structure(astronaut):
    from thinkdraw.eval.closed_loop import PASS_LEVEL, closed_loop, markdown_table

    img, portrait = astronaut
    res = closed_loop(img, portrait, aus=["AU25", "AU12"])
    assert [r.au for r in res] == ["AU25", "AU12"]
    assert all(r.detected for r in res)
    assert all(-1e-6 <= r.measured <= 1 + 1e-6 for r in res)
    assert res[0].measured >= 0.3  # lips parting survives render -> MediaPipe -> inverse
    assert all(r.passed == (r.strongest == r.au and r.measured >= PASS_LEVEL) for r in res)
    table = markdown_table(res)
    assert table.count("\n") == len(res) + 2 and "AU25" in table
