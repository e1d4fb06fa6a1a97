"""The closed-loop runner's argument handling and the still-image AU equivalence rule (no rendering)."""

import pytest

from thinkdraw.eval.closed_loop import STILL_EQUIVALENT, AUResult, main, markdown_table


def test_blink_and_closure_are_one_class_in_a_still():
    assert set(STILL_EQUIVALENT["AU45"]) == {"AU43", "AU45"}
    assert STILL_EQUIVALENT["AU43"] == STILL_EQUIVALENT["AU45"]
    assert "AU41" not in STILL_EQUIVALENT  # partial closures stay distinct codes


def test_runner_rejects_unknown_portrait(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--portrait", "mona_lisa"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_markdown_table_counts_passes():
    rows = [AUResult("AU1", 0.7, "AU1", 0.7, True, True), AUResult("AU4", 0.1, "AU9", 0.3, False, True),
            AUResult("AU5", 0.0, "-", 0.0, False, False)]
    table = markdown_table(rows)
    assert "**1/3**" in table and "no face" in table


def test_calibration_unmixes_its_own_response_rows():
    import json
    from importlib import resources

    from thinkdraw.eval.closed_loop import calibrated

    resp = json.loads(resources.files("thinkdraw.face").joinpath("data/detector_response.json").read_text())
    table = resp["astronaut"]
    rows = [AUResult(au, 0.0, "-", 0.0, False, True, dict(table[au])) for au in ("AU1", "AU12", "AU26")]
    out = calibrated(rows, "astronaut")
    for r in out:  # a measured vector equal to the AU's own response row unmixes to that AU at ~1
        assert r.strongest == r.au and r.measured > 0.9 and r.passed
