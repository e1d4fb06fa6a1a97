"""The closed-loop runner's argument handling and the still-image AU equivalence rule (no rendering)."""

import pytest

from thinkdraw.eval.closed_loop import STILL_EQUIVALENT, AUResult, main, markdown_table


def test_lid_lowering_is_one_class_in_a_still():
    # FACS 2002: droop and slit are AU43 levels, a blink is AU43E lasting < 0.5 s
    assert set(STILL_EQUIVALENT["AU45"]) == {"AU41", "AU42", "AU43", "AU45"}
    assert STILL_EQUIVALENT["AU41"] == STILL_EQUIVALENT["AU43"] == STILL_EQUIVALENT["AU45"]
    for other in ("AU5", "AU7", "AU44", "AU6"):  # other muscles stay distinct codes
        assert other not in STILL_EQUIVALENT


def test_runner_rejects_unknown_portrait(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--portrait", "mona_lisa"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_markdown_table_counts_passes():
    rows = [AUResult("AU1", 0.7, "AU1", 0.7, True, True), AUResult("AU4", 0.1, "AU9", 0.3, False, True),
            AUResult("AU5", 0.0, "-", 0.0, False, False)]
    rows.append(AUResult("AU43", 0.8, "AU42", 0.8, True, True, None, strict=False))
    table = markdown_table(rows)
    assert "**2/4** (strict: 0)" in table and "no face" in table
    rows[0].strict = True
    assert "(strict: 1)" in markdown_table(rows)
