"""thinkdraw render / atlas: happy paths and one-line errors with exit code 2 and no output file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from thinkdraw.cli import main
from thinkdraw.errors import InputError
from thinkdraw.render.cli import atlas_entries, parse_au_overrides


@pytest.fixture(scope="module")
def portrait_png(tmp_path_factory, astronaut):
    path = tmp_path_factory.mktemp("portrait") / "astronaut.png"
    Image.fromarray(astronaut[0]).save(path)
    return path


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_parse_au_overrides():
    p = parse_au_overrides(["AU12=0.8", "au6=1", "AU2L=0.3", "AU52=0.5", "AU61=1", "AU 45R=1"])
    assert p["AU12L"] == p["AU12R"] == pytest.approx(0.8)
    assert p["AU6"] == 1.0 and p["AU2L"] == pytest.approx(0.3) and "AU2R" not in p
    assert p["yaw"] == pytest.approx(10.0) and p["gaze_h"] == -1.0 and p["AU45R"] == 1.0


@pytest.mark.parametrize("bad, msg", [("AU99=0.5", "unknown action unit"), ("AU12=1.5", "must be in [0, 1]"),
                                      ("AU12", "expected AU=VALUE"), ("AU12=x", "not a number"), ("AU52L=1", "unknown"),
                                      # a wrong name is reported as such, whatever its value
                                      ("gaze_h=-0.5", "unknown action unit 'gaze_h'.*gaze: AU61-64"),
                                      ("AU99=x", "unknown action unit 'AU99'"), ("=0.5", "unknown action unit ''"),
                                      # a side on an AU the rig moves on both sides at once
                                      ("AU25L=0.5", "AU25 acts on both sides.*'AU25L'.*AU12"),
                                      ("au26r=1", "AU26 acts on both sides")])
def test_parse_au_overrides_errors(bad, msg):
    with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("]", r"\]")) as err:
        parse_au_overrides([bad])
    assert "\n" not in str(err.value)


def test_render_happy_path(portrait_png, tmp_path, astronaut):
    out = tmp_path / "smile.png"
    assert main(["render", str(portrait_png), "-o", str(out), "--au", "AU12=0.8", "AU26=0.6"]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (512, 512, 3)
    assert not np.array_equal(img, astronaut[0])


def test_render_emotion_with_override(portrait_png, tmp_path):
    out = tmp_path / "sad.png"
    assert main(["render", str(portrait_png), "-o", str(out), "--emotion", "sad", "--au", "AU43=1"]) == 0
    assert out.exists()


@pytest.mark.parametrize("args, msg", [
    (["--au", "AU99=1"], "unknown action unit"),
    (["--au", "AU12=2"], "[0, 1]"),
    (["--face", "3"], "face 3 requested"),
])
def test_render_errors(portrait_png, tmp_path, capsys, args, msg):
    out = tmp_path / "x.png"
    assert main(["render", str(portrait_png), "-o", str(out), *args]) == 2
    line = _err_line(capsys)
    assert line.startswith("thinkdraw render: error:") and msg in line
    assert not out.exists()


def test_render_bad_inputs(tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["render", str(tmp_path / "missing.png"), "-o", str(out)]) == 2
    assert "not found" in _err_line(capsys)
    text = tmp_path / "notimage.png"
    text.write_text("hello")
    assert main(["render", str(text), "-o", str(out)]) == 2
    _err_line(capsys)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    assert main(["atlas", str(blank), "-o", str(out)]) == 2
    assert "no face" in _err_line(capsys)
    assert main(["render", str(blank), "-o", str(tmp_path / "x.txt")]) == 2
    _err_line(capsys)
    # an output under a file cannot be written: one line, said before the portrait is read (the
    # blank portrait would say "no face"), where it was a traceback after rendering
    for cmd in ("render", "atlas"):
        assert main([cmd, str(blank), "-o", str(text / "sub" / "x.png")]) == 2
        assert _err_line(capsys) == f"thinkdraw {cmd}: error: cannot write {text}/sub/x.png: {text} is not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.png", "notimage.png"]


def test_atlas(portrait_png, tmp_path):
    out = tmp_path / "atlas.png"
    assert main(["atlas", str(portrait_png), "-o", str(out), "--tile", "96", "--columns", "12"]) == 0
    sheet = np.asarray(Image.open(out))
    n_tiles = 1 + len(atlas_entries())
    rows = -(-n_tiles // 12)
    assert sheet.shape == (rows * (96 + 20), 12 * 96, 3)
    labels = [e[0] for e in atlas_entries()]
    assert "AU12 0.5" in labels and "AU45 1" in labels and "happiness" in labels and "sadly angry" in labels
    from thinkdraw.facs import au_catalog

    n_aus = sum(not str(v.get("rig", "both")).startswith("alias:") for v in au_catalog().values())
    assert len([x for x in labels if x.split()[0].startswith("AU")]) == 2 * n_aus


def test_render_no_glasses_flag(tmp_path):
    """Bundled grace_hopper wears glasses: by default the frame stays put when the brows rise,
    with --no-glasses it bends with them (the rim rows differ)."""
    rigid, bent = tmp_path / "rigid.png", tmp_path / "bent.png"
    assert main(["render", "grace_hopper", "-o", str(rigid), "--au", "AU1=1", "AU2=1"]) == 0
    assert main(["render", "grace_hopper", "-o", str(bent), "--au", "AU1=1", "AU2=1", "--no-glasses"]) == 0
    a = np.asarray(Image.open(rigid)).astype(int)
    b = np.asarray(Image.open(bent)).astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() > 40


def test_render_warns_on_a_head_turn_beyond_what_the_photo_holds(astronaut, caplog):
    from thinkdraw.render.cli import render_still

    image, portrait = astronaut
    with caplog.at_level("WARNING", logger="thinkdraw.render.cli"):
        render_still(image, portrait, parse_au_overrides(["AU51=0.25"]))  # 5 degrees: clean
    assert not caplog.records
    with caplog.at_level("WARNING", logger="thinkdraw.render.cli"):
        render_still(image, portrait, parse_au_overrides(["AU51=1"]))  # 20 degrees
    assert len(caplog.records) == 1 and "head turn of -20 degrees" in caplog.records[0].getMessage()


def test_render_warns_on_a_face_turned_in_its_photo(monkeypatch, caplog):
    import dataclasses

    import thinkdraw.face.analyze as analyze
    from thinkdraw.render.cli import _load_portrait

    with caplog.at_level("WARNING", logger="thinkdraw.render.cli"):
        _load_portrait("astronaut", None)  # frontal: no warning
    assert not caplog.records
    real = analyze.analyze_portrait
    monkeypatch.setattr(analyze, "analyze_portrait", lambda *a, **k: dataclasses.replace(real(*a, **k), yaw=41.0))
    with caplog.at_level("WARNING", logger="thinkdraw.render.cli"):
        _load_portrait("astronaut", None)
    assert len(caplog.records) == 1 and "turned 41 degrees in the photo" in caplog.records[0].getMessage()
