"""Shared fixtures for THINK tests: one planner per session (MiniLM loads once)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
THINKDRAW = REPO / ".venv" / "bin" / "thinkdraw"


@pytest.fixture(scope="session")
def planner():
    from thinkdraw.think import Planner

    return Planner()


@pytest.fixture(scope="session")
def thinkdraw_cmd() -> list[str]:
    """The console script if installed in .venv, else ``python -m thinkdraw``."""
    if THINKDRAW.exists():
        return [str(THINKDRAW)]
    return [sys.executable, "-m", "thinkdraw"]


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory) -> dict[str, str]:
    env = dict(os.environ)
    env["THINKDRAW_CACHE"] = str(tmp_path_factory.mktemp("think-cache"))
    env.pop("OPENAI_BASE_URL", None)
    env.pop("OPENAI_API_KEY", None)
    return env
