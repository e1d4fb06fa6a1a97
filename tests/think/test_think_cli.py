"""`thinkdraw think` contracts, run as a user would (subprocess)."""

from __future__ import annotations

import json
import subprocess

import pytest


def _run(cmd, args, env, stdin: bytes | None = None):
    return subprocess.run(cmd + ["think", *args], input=stdin, capture_output=True, env=env, timeout=120)


def test_human_output_has_trace_and_region_table(thinkdraw_cmd, cli_env):
    out = _run(thinkdraw_cmd, ["a bittersweet smile, remembering an old friend"], cli_env)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    for needle in ("1. Understand the text", "2. Muscles per emotion", "3. Conflicts and masking",
                   "4. Plan per region", "5. Timing", "Action units by region", "AU12", "AU12 vs AU15",
                   "brows", "mouth", "jaw"):
        assert needle in text, needle


def test_json_prints_only_the_plan(thinkdraw_cmd, cli_env):
    out = _run(thinkdraw_cmd, ["他非常生气", "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 1
    plan = json.loads(lines[0])
    assert set(plan) == {"text", "trace", "emotions", "intensity", "valence", "arousal", "aus", "timing",
                         "backend", "warnings"}
    assert plan["emotions"][0]["name"] == "anger" and plan["intensity"] > 0.7
    assert plan["text"] == "他非常生气"


def test_jsonl_stdin(thinkdraw_cmd, cli_env):
    stdin = "happy\n\n   \nsad\n平静\nnot happy at all\n".encode()
    out = _run(thinkdraw_cmd, ["--json", "-"], cli_env, stdin=stdin)
    assert out.returncode == 0, out.stderr
    plans = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [p["text"] for p in plans] == ["happy", "sad", "平静", "not happy at all"]  # blank lines skipped
    assert [p["emotions"][0]["name"] for p in plans][:3] == ["happiness", "sadness", "neutral"]


def test_jsonl_bad_lines_are_reported_and_others_planned(thinkdraw_cmd, cli_env):
    stdin = b"happy\n\xff\xfe\x00junk\n" + b"x" * 100_000 + b"\nangry\n"
    out = _run(thinkdraw_cmd, ["--json", "-"], cli_env, stdin=stdin)
    assert out.returncode == 2
    plans = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert [p["text"] for p in plans] == ["happy", "angry"]
    err = out.stderr.decode().strip().splitlines()
    assert err == ["thinkdraw think: error: line 2: not valid UTF-8 (binary data?)",
                   "thinkdraw think: error: line 3: emotion text too long: 100000 characters (at most 2000)"]


def test_timeline_and_keyframes_flags(thinkdraw_cmd, cli_env):
    out = _run(thinkdraw_cmd, ["calm, then furious from 3 s", "--json"], cli_env)
    plan = json.loads(out.stdout)
    assert [k["t"] for k in plan["timing"]["keyframes"]] == [0.0, 3.0]
    kf = json.dumps([{"t": 0, "text": "calm"}, {"t": 1.5, "emotion": "fear", "intensity": 0.8}])
    out = _run(thinkdraw_cmd, ["--keyframes", kf, "--json"], cli_env)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert [k["t"] for k in plan["timing"]["keyframes"]] == [0.0, 1.5] and plan["emotions"][0]["name"] == "fear"


@pytest.mark.parametrize("args,stdin,message", [
    ([""], None, "thinkdraw think: error: empty emotion text"),
    (["   "], None, "thinkdraw think: error: empty emotion text"),
    ([], None, "thinkdraw think: error: no emotion text given"),
    (["x" * 100_000], None, "thinkdraw think: error: emotion text too long: 100000 characters (at most 2000)"),
    (["happy\x01\x02\x03"], None, "thinkdraw think: error: emotion text contains 3 control"),
    (["happy", "--keyframes", "[oops"], None, "thinkdraw think: error: keyframes are not valid JSON"),
    (["-", "--keyframes", "[]"], b"happy\n", "thinkdraw think: error: --keyframes cannot be combined"),
    (["happy", "--backend", "openai", "--base-url", "ftp://x"], None, "thinkdraw think: error: base URL must start"),
])
def test_bad_input_one_line_error_exit_2(thinkdraw_cmd, cli_env, args, stdin, message):
    out = _run(thinkdraw_cmd, args, cli_env, stdin=stdin)
    assert out.returncode == 2
    err = out.stderr.decode().strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
    assert out.stdout == b""


def test_binary_argument_is_an_error(thinkdraw_cmd, cli_env):
    out = subprocess.run(thinkdraw_cmd + ["think", b"\xff\xfe\xfa"],
                         capture_output=True, env=cli_env, timeout=60)
    assert out.returncode == 2
    assert out.stderr.decode().strip().startswith("thinkdraw think: error: emotion text is not valid UTF-8")


@pytest.mark.parametrize("text", ["🦄🌮🛸", "Qapla' nuqneH ghaytlh vIghro jIH"])
def test_unknown_language_gives_neutral_plan_exit_0(thinkdraw_cmd, cli_env, text):
    out = _run(thinkdraw_cmd, [text, "--json"], cli_env)
    assert out.returncode == 0
    plan = json.loads(out.stdout)
    assert plan["emotions"] == [{"name": "neutral", "weight": 1.0}] and plan["aus"] == []
    assert "could not recognise an emotion" in plan["warnings"][0]
