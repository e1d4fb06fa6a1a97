"""Fixtures for renderer tests: the astronaut portrait analysed once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def astronaut():
    """(image (512, 512, 3) uint8, Portrait) analysed once per session."""
    from skimage import data

    from thinkdraw.face.analyze import analyze_portrait

    img = data.astronaut()
    return img, analyze_portrait(img)


@pytest.fixture(scope="session")
def renderer(astronaut):
    from thinkdraw.render.warp import Renderer

    img, portrait = astronaut
    return Renderer(img, portrait)


@pytest.fixture(scope="session")
def grace():
    """(image, Portrait, Rig) of matplotlib's grace_hopper (dark browline glasses, a neck below a
    low chin)."""
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.samples import load_sample

    img = load_sample("grace_hopper")
    portrait = analyze_portrait(img)
    return img, portrait, Rig(portrait)
