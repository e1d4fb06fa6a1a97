"""The ``thinkdraw`` command line. Thin: parsing and dispatch only.

Each stage owns its sub-commands in a small ``cli`` module that exposes
``register(subparsers)``; registering must stay cheap (no heavy imports), the handler imports
what it needs. Errors a user can cause (``ThinkdrawError``) become one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from thinkdraw import __version__
from thinkdraw.errors import ThinkdrawError

# Stage modules that contribute sub-commands, in the order of the flow.
COMMAND_MODULES: tuple[str, ...] = (
    "thinkdraw.think.cli",
    "thinkdraw.speech.cli",
    "thinkdraw.face.cli",
    "thinkdraw.render.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thinkdraw",
        description="Make a portrait talk with a feeling you describe in words, muscle by muscle.",
    )
    parser.add_argument("--version", action="version", version=f"thinkdraw {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a stage not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    from thinkdraw.utils.logs import setup_logging

    setup_logging(-1 if args.quiet else args.verbose)
    try:
        return int(args.handler(args) or 0)
    except ThinkdrawError as exc:
        msg = " ".join(str(exc).split()) or exc.__class__.__name__
        print(f"thinkdraw {args.command}: error: {msg}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("thinkdraw: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """The ``thinkdraw`` executable: :func:`main` in a process of its own, so native libraries'
    stderr chatter can be sent away for the whole process (see ``hide_native_stderr``)."""
    from thinkdraw.utils.logs import hide_native_stderr

    hide_native_stderr()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
