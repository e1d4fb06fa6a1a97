"""``thinkdraw think``: emotion text -> chain of thought + AU plan (or JSON / JSON Lines).

Contracts (used by automated checks):
* ``thinkdraw think TEXT`` prints the chain of thought and a table of AUs by region;
* ``thinkdraw think TEXT --json`` prints only the EmotionPlan JSON on stdout;
* ``thinkdraw think --json -`` reads one text per line from stdin and prints one plan per line
  (JSON Lines), loading the models once. Blank lines are skipped (no output line: a blank line
  is not an emotion text). A bad line (too long, control characters, not UTF-8) prints a one-line
  error with its line number on stderr, the other lines are still planned, and the exit code is 2;
* bad input: one-line error, exit 2 (see thinkdraw/think/text.py for each case).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DESCRIPTION = """Plan a facial expression from a feeling described in words (English or Chinese):
a chain of thought from the text to FACS action units, region by region, with timing."""

EPILOG = """examples:
  thinkdraw think "a bittersweet smile, remembering an old friend"
  thinkdraw think "他非常生气" --json
  thinkdraw think "calm, then furious from 3 s" --json
  thinkdraw think --keyframes '[{"t": 0, "text": "calm"}, {"t": 2, "emotion": "anger", "intensity": 0.9}]'
  printf 'happy\\nsad\\n' | thinkdraw think --json -
  thinkdraw think "awkward" --backend openai --base-url http://127.0.0.1:11434/v1 --model llama3.1"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("think", help="emotion text -> FACS action-unit plan (chain of thought)",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("text", nargs="?", metavar="TEXT", help="the emotion text; '-' reads one text per line from stdin")
    p.add_argument("--json", action="store_true", help="print only the EmotionPlan JSON (JSON Lines with '-')")
    p.add_argument("--backend", choices=("knowledge", "openai"), default="knowledge",
                   help="knowledge: offline FACS tables + MiniLM (default); openai: an OpenAI-compatible chat endpoint")
    p.add_argument("--keyframes", metavar="JSON",
                   help='explicit timeline: JSON list like \'[{"t": 0, "text": "calm"}, {"t": 3, "emotion": "anger", "intensity": 0.8}]\'')
    g = p.add_argument_group("openai backend (defaults from OPENAI_BASE_URL, THINKDRAW_OPENAI_MODEL, OPENAI_API_KEY)")
    g.add_argument("--base-url", help="endpoint base URL, e.g. http://127.0.0.1:11434/v1")
    g.add_argument("--model", help="model name")
    g.add_argument("--api-key", help="API key (prefer the OPENAI_API_KEY environment variable)")
    g.add_argument("--timeout", type=float, help="seconds per request before falling back (default 30)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from thinkdraw.errors import InputError
    from thinkdraw.think.planner import Planner

    if args.text is None and not args.keyframes:
        raise InputError("no emotion text given (pass TEXT, or '-' to read lines from stdin)")
    if args.text == "-" and args.keyframes:
        raise InputError("--keyframes cannot be combined with reading texts from stdin")
    options = {k: getattr(args, k) for k in ("base_url", "model", "api_key", "timeout") if getattr(args, k) is not None}
    planner = Planner(args.backend, **options)
    if args.text == "-":
        return _run_lines(planner, args.json)
    plan = planner.plan(args.text, keyframes=args.keyframes)
    _emit(plan, args.json)
    return 0


def _run_lines(planner: Any, as_json: bool) -> int:
    from thinkdraw.errors import InputError

    failed = 0
    for n, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            print(f"thinkdraw think: error: line {n}: not valid UTF-8 (binary data?)", file=sys.stderr)
            failed += 1
            continue
        if not line.strip():
            continue
        try:
            plan = planner.plan(line)
        except InputError as exc:
            print(f"thinkdraw think: error: line {n}: {' '.join(str(exc).split())}", file=sys.stderr)
            failed += 1
            continue
        _emit(plan, as_json)
        sys.stdout.flush()
    return 2 if failed else 0


def _emit(plan: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(plan.model_dump_json() + "\n")
        return
    render_plan(plan)


def render_plan(plan: Any) -> None:
    """Human-readable plan: chain of thought, then the AU table by region (rich)."""
    from rich.console import Console
    from rich.table import Table

    from thinkdraw.facs import REGIONS

    # a pipe or file gets 110 columns (rich would use 80 and wrap the table)
    con = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 110)
    mix = ", ".join(f"{e.name} {e.weight:.2f}" for e in plan.emotions)
    con.print(f"[bold]{plan.text}[/bold]", markup=True)
    con.print(f"emotions: {mix} | intensity {plan.intensity:.2f} | valence {plan.valence:+.2f} | "
              f"arousal {plan.arousal:+.2f} | backend {plan.backend}", markup=False)
    for w in plan.warnings:
        con.print(f"[yellow]warning:[/yellow] {w}", markup=True)
    con.print()
    for step in plan.trace:
        con.print(f"[bold cyan]{step.title}[/bold cyan]", markup=True)
        con.print(step.text, markup=False)
        con.print()
    table = Table(title="Action units by region")
    for col in ("region", "AU", "name", "intensity", "side", "muscle"):
        table.add_column(col)
    from thinkdraw.facs import au_catalog

    cat = au_catalog()
    for region in REGIONS:
        here = [a for a in plan.aus if a.region == region]
        if not here:
            table.add_row(region, "-", "relaxed", "", "", "")
        for i, a in enumerate(here):
            table.add_row(region if i == 0 else "", a.au, cat[a.au]["name"], f"{a.intensity:.2f}", a.side, a.muscle)
    con.print(table)
    tm = plan.timing
    if tm.keyframes:
        con.print("timeline: " + "; ".join(f"{k.t:.1f} s {k.label!r} ({k.intensity:.2f})" for k in tm.keyframes), markup=False)
    else:
        con.print(f"timing: onset {tm.onset:.2f} s, apex {tm.apex:.2f} s, offset {tm.offset:.2f} s", markup=False)
