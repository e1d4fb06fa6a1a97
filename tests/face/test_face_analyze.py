"""Face analysis: landmarks, pose, several faces, no face, border, stylised, large, mesh data."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from thinkdraw.errors import InputError
from thinkdraw.face import mesh
from thinkdraw.face.analyze import Portrait, analyze_portrait


def test_astronaut_portrait(astro_portrait):
    p = astro_portrait
    assert p.size == (512, 512) and p.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = p.box
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 220
    # person's left eye is on the image right in a frontal photo
    assert p.landmarks[mesh.LEFT_EYE_CORNERS[0], 0] > p.landmarks[mesh.RIGHT_EYE_CORNERS[0], 0]
    assert p.landmarks[473, 0] > p.landmarks[468, 0]
    assert abs(p.yaw) < 10 and abs(p.pitch) < 10 and abs(p.roll) < 10
    assert p.num_faces == 1 and p.face_index == 0


def test_portrait_json_roundtrip(astro_portrait):
    d = json.loads(json.dumps(astro_portrait.to_dict()))
    q = Portrait.from_dict(d)
    assert np.allclose(q.landmarks, astro_portrait.landmarks, atol=1e-3)
    assert q.box == pytest.approx(astro_portrait.box)


def test_portrait_from_bad_dict():
    with pytest.raises(InputError, match="invalid portrait"):
        Portrait.from_dict({"landmarks": [[0, 0, 0]]})


def test_grace_hopper_from_path(grace_portrait):
    assert grace_portrait.size == (512, 600)
    assert grace_portrait.landmarks[:, :2].min() > 0


def test_roll_is_measured(astronaut, analyzer):
    h, w = astronaut.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0)  # image rotated 20 deg clockwise
    rot = cv2.warpAffine(astronaut, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    p0 = analyze_portrait(astronaut, analyzer=analyzer)
    p = analyze_portrait(rot, analyzer=analyzer)
    # clockwise image rotation tilts the head toward the person's left shoulder: roll decreases
    assert p.roll - p0.roll == pytest.approx(-20, abs=4)


def test_no_face(analyzer):
    with pytest.raises(InputError, match=r"^no face found in <array>$"):
        analyze_portrait(np.full((300, 300, 3), 180, np.uint8), analyzer=analyzer)


def test_two_faces_largest_first(astronaut, analyzer):
    small = cv2.resize(astronaut, (380, 380))
    right = np.full((512, 512, 3), 255, np.uint8)
    right[66:446, 66:446] = small
    img = np.concatenate([astronaut, right], axis=1)
    p0 = analyze_portrait(img, analyzer=analyzer)
    p1 = analyze_portrait(img, face=1, analyzer=analyzer)
    assert p0.num_faces == 2 and p1.num_faces == 2
    assert p0.box[2] < 512 < p1.box[0]  # largest = the left, full-size astronaut
    assert (p1.box[2] - p1.box[0]) < (p0.box[2] - p0.box[0])
    with pytest.raises(InputError, match=r"face 2 requested but 2 faces found .*numbered 0\.\.1"):
        analyze_portrait(img, face=2, analyzer=analyzer)


def test_same_size_side_by_side(astronaut, analyzer):
    p = analyze_portrait(np.concatenate([astronaut, astronaut], axis=1), analyzer=analyzer)
    assert p.num_faces == 2


def test_face_at_border(astronaut, analyzer, astro_portrait):
    crop = astronaut[100:, 200:]  # the face is cut by the top and left edges
    p = analyze_portrait(crop, analyzer=analyzer)
    ref = astro_portrait.landmarks[:, :2] - np.array([200, 100])
    assert np.median(np.linalg.norm(p.landmarks[:, :2] - ref, axis=1)) < 8


def test_face_filling_the_frame(astronaut, analyzer):
    crop = cv2.resize(astronaut[70:180, 175:275], (400, 440))
    p = analyze_portrait(crop, analyzer=analyzer)
    assert p.num_faces >= 1


def test_pencil_sketch_detected(astronaut, analyzer, astro_portrait):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    blur = cv2.GaussianBlur(255 - gray, (21, 21), 0)
    sketch = cv2.divide(gray, 255 - blur, scale=256)
    p = analyze_portrait(sketch, analyzer=analyzer)
    d = np.linalg.norm(p.landmarks[:, :2] - astro_portrait.landmarks[:, :2], axis=1)
    assert np.median(d) < 6


def test_cartoon_flat_colours(astronaut, analyzer):
    # a posterised, edge-outlined "cartoon" version
    flat = cv2.bilateralFilter(astronaut, 9, 120, 120)
    flat = (flat // 64) * 64 + 32
    edges = cv2.Canny(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), 80, 160)
    flat[edges > 0] = 0
    p = analyze_portrait(flat.astype(np.uint8), analyzer=analyzer)
    assert p.num_faces >= 1


def test_large_image_maps_back(astronaut, analyzer, astro_portrait):
    big = cv2.resize(astronaut, (3000, 3000), interpolation=cv2.INTER_CUBIC)
    p = analyze_portrait(big, analyzer=analyzer)
    assert p.size == (3000, 3000)
    d = np.linalg.norm(p.landmarks[:, :2] / (3000 / 512) - astro_portrait.landmarks[:, :2], axis=1)
    assert np.median(d) < 3


def test_mesh_triangles():
    tri = mesh.triangles()
    assert tri.shape == (852, 3) and tri.min() == 0 and tri.max() == 467
    # Euler characteristic of a sphere with 4 holes (outline, 2 eyes, mouth): V - E + F = -2
    assert 468 - len(mesh.tessellation_edges()) + len(tri) == -2
    assert np.array_equal(np.sort(mesh._derive_triangles(), axis=1), np.sort(tri, axis=1))


def test_mesh_groups_sides(astro_portrait):
    lm = astro_portrait.landmarks
    assert lm[list(mesh.LEFT_EYE), 0].mean() > lm[list(mesh.RIGHT_EYE), 0].mean()
    assert lm[list(mesh.LEFT_BROW), 0].mean() > lm[list(mesh.RIGHT_BROW), 0].mean()
    assert lm[list(mesh.LEFT_EYE_UPPER[1:-1]), 1].mean() < lm[list(mesh.LEFT_EYE_LOWER[1:-1]), 1].mean()
    assert lm[list(mesh.LIPS_OUTER_UPPER[1:-1]), 1].mean() < lm[list(mesh.LIPS_OUTER_LOWER[1:-1]), 1].mean()
    assert len(set(mesh.LIPS_INNER)) == len(mesh.LIPS_INNER) == 20


def test_grace_hopper_single_face(grace_portrait):
    assert grace_portrait.num_faces == 1  # no duplicate from the detection windows


def test_cli_face_summary_json_and_errors(grace_path, tmp_path, capsys):
    from thinkdraw.cli import main

    out = tmp_path / "p.json"
    drawn = tmp_path / "mesh.png"
    assert main(["face", grace_path, "--json", "-o", str(out), "--draw", str(drawn)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert np.asarray(data["landmarks"]).shape == (478, 3)
    assert set(data["own_aus"]) >= {"AU12L", "AU12R", "AU25"}
    assert json.loads(out.read_text())["num_faces"] == 1
    assert drawn.stat().st_size > 1000
    assert main(["face", grace_path]) == 0
    assert "1 face(s)" in capsys.readouterr().out
    assert main(["face", str(tmp_path / "missing.png")]) == 2
    assert main(["face", grace_path, "--face", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("thinkdraw face: error: face 4 requested but 1 face found")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    assert main(["face", str(blank)]) == 2
    assert "no face found in" in capsys.readouterr().err
    # an output that cannot be written: one line before the analysis (a traceback after it before)
    for flag in ("-o", "--draw"):
        assert main(["face", str(blank), flag, str(blank / "x.json")]) == 2
        assert capsys.readouterr().err.strip() == f"thinkdraw face: error: cannot write {blank}/x.json: {blank} is not a folder"


def test_painting_and_opencv_pencil_sketch(astronaut, analyzer, astro_portrait):
    painted = cv2.stylization(astronaut, sigma_s=60, sigma_r=0.45)
    sketch, _ = cv2.pencilSketch(astronaut, sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    for img in (painted, sketch):
        p = analyze_portrait(img, analyzer=analyzer)
        d = np.linalg.norm(p.landmarks[:, :2] - astro_portrait.landmarks[:, :2], axis=1)
        assert np.median(d) < 8
    assert analyze_portrait(sketch, analyzer=analyzer).meta["pass"] != "plain"  # found by a retry


@pytest.mark.parametrize("native_logs", [False, True])
def test_mediapipe_start_up_chatter_is_silenced(native_logs):
    """MediaPipe's C++ start-up lines (absl, XNNPACK) go straight to fd 2; the CLI hides them
    unless THINKDRAW_NATIVE_LOGS is set."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "THINKDRAW_NATIVE_LOGS"}
    if native_logs:
        env["THINKDRAW_NATIVE_LOGS"] = "1"
    res = subprocess.run([sys.executable, "-m", "thinkdraw.cli", "face", "astronaut", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    chatter = ("XNNPACK" in res.stderr) or ("absl" in res.stderr) or ("inference_feedback" in res.stderr)
    assert chatter == native_logs, res.stderr


@pytest.mark.parametrize("native_logs", [False, True])
def test_native_writes_to_fd2_are_hidden_for_the_whole_cli_process(native_logs):
    """Graph threads log on their own schedule (even at exit), so the executable sends fd 2 away for
    its whole life while Python's stderr (logs, error lines) still reaches the terminal."""
    import os
    import subprocess
    import sys

    code = ("import os, sys, atexit; from thinkdraw.utils.logs import hide_native_stderr; "
            "print(hide_native_stderr()); atexit.register(os.write, 2, b'late native\\n'); "
            "os.write(2, b'native line\\n'); print('python line', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "THINKDRAW_NATIVE_LOGS"}
    if native_logs:
        env["THINKDRAW_NATIVE_LOGS"] = "1"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == str(not native_logs), res.stderr
    assert "python line" in res.stderr
    assert ("native line" in res.stderr) == ("late native" in res.stderr) == native_logs, res.stderr


def test_a_window_detection_is_kept_only_when_found_again_in_context(astronaut, analyzer, astro_portrait):
    """A face found only in a detection window must be found again in a crop around it (an ear or
    a toy magnified by a window is not): the astronaut's own mesh is confirmed, the same mesh moved
    onto her spacesuit is not."""
    lm = astro_portrait.landmarks.astype(np.float64)
    assert analyzer._confirmed(astronaut, lm.copy(), 0.5)
    moved = lm.copy()
    moved[:, 0] += 230.0 - moved[:, 0].min()  # right of her face, on the suit and the flag
    moved[:, 1] += 300.0 - moved[:, 1].min()
    assert not analyzer._confirmed(astronaut, moved, 0.5)


def test_small_faces_of_a_group_are_all_found(astronaut, analyzer):
    """Four faces in a wide image, each too small for the whole-image detector alone: the detection
    windows find all four and the confirmation keeps them."""
    small = cv2.resize(astronaut, (256, 256))
    row = np.concatenate([small] * 4, axis=1)
    img = np.concatenate([row, np.full_like(row, 128)], axis=0)
    faces, _ = analyzer.find_faces(img)
    assert len(faces) == 4
