"""Logging set-up: one rich handler on stderr so stdout stays clean for --json output."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator

_CONFIGURED = False


def setup_logging(verbosity: int = 0) -> None:
    """Configure the ``thinkdraw`` logger. verbosity: -1 quiet, 0 info, 1+ debug."""
    global _CONFIGURED
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    logger = logging.getLogger("thinkdraw")
    logger.setLevel(level)
    if not _CONFIGURED:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(console=Console(stderr=True), show_path=False, show_time=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        _CONFIGURED = True
    # Third-party noise (TF Lite / absl / transformers) off unless debugging.
    if verbosity <= 0:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("GLOG_minloglevel", "3")
        for name in ("transformers", "sentence_transformers", "absl", "piper", "urllib3"):
            logging.getLogger(name).setLevel(logging.ERROR)


def get_logger(name: str) -> logging.Logger:
    """Return a child of the ``thinkdraw`` logger."""
    return logging.getLogger(name if name.startswith("thinkdraw") else f"thinkdraw.{name}")


@contextlib.contextmanager
def quieted(name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Raise one logger's level for a block (e.g. per-portrait INFO lines during a batch with its
    own progress bar), then restore it."""
    logger = get_logger(name)
    old = logger.level
    logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(old)


def hide_native_stderr() -> bool:
    """For a command-line process: native libraries' writes to file descriptor 2 go to /dev/null
    for the rest of the process, while Python's ``sys.stderr`` (logging, progress bars, error lines,
    tracebacks) keeps the real stderr through a duplicate descriptor.

    MediaPipe's graph threads log absl lines on their own schedule (they can land after a scoped
    redirect has ended, or at exit when a graph closes), so a redirect around each call cannot hide
    them all. Set THINKDRAW_NATIVE_LOGS=1 to keep them. Returns whether anything was changed.
    """
    if os.environ.get("THINKDRAW_NATIVE_LOGS"):
        return False
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded interpreters)
        return False
    stream = io.TextIOWrapper(io.FileIO(saved, "w"), encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                              errors="backslashreplace", line_buffering=True)
    os.dup2(null, 2)
    os.close(null)
    sys.stderr = stream
    return True
