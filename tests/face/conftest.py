"""Shared fixtures for the FACE tests: portraits and one MediaPipe analyzer per session."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def grace_path() -> str:
    import matplotlib.cbook as cbook

    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def analyzer():
    from thinkdraw.face.analyze import FaceAnalyzer

    return FaceAnalyzer()


@pytest.fixture(scope="session")
def astro_portrait(astronaut, analyzer):
    from thinkdraw.face.analyze import analyze_portrait

    return analyze_portrait(astronaut, analyzer=analyzer)


@pytest.fixture(scope="session")
def grace_portrait(grace_path, analyzer):
    from thinkdraw.face.analyze import analyze_portrait

    return analyze_portrait(grace_path, analyzer=analyzer)
