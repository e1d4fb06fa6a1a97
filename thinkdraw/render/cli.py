"""``thinkdraw render`` (one still) and ``thinkdraw atlas`` (contact sheet of every AU and emotion).

Registering is cheap; the handlers import the face analysis, rig, THINK and renderer lazily.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from thinkdraw.errors import BackendError, InputError
from thinkdraw.utils.logs import get_logger

HEAD_DEGREES = 20.0
"""Head codes AU51-56 at intensity 1.0 turn/tilt the head by this many degrees."""
HEAD_SCALE = 0.15
"""Head codes AU57/58 at intensity 1.0 change the log scale by this much."""
CLEAN_YAW_DEGREES = 10.0
"""Head turns up to this look clean. Beyond it the side of the face turning towards the camera,
edge-on in the photo, is made up: stretched from a strip 1-2 px wide, or refilled with the face's
own cheek skin where that strip holds a crease (render/sideband.py; README, "Head turns")."""

TURNED_PHOTO_DEGREES = 30.0
"""A face turned more than this in its photo is past what the frontal face mesh follows well: the far
cheek lies behind the nose, and expressions and head motion can tear or streak there (README,
"Head turns"; bench/faces.py --only turned)."""

log = get_logger(__name__)

BASIC_EMOTIONS: tuple[str, ...] = ("happiness", "sadness", "surprise", "fear", "anger", "disgust", "contempt")
"""The 7 basic emotions of the atlas (EMFACS)."""
COMPOUND_EMOTIONS: tuple[str, ...] = (
    "happily surprised", "happily disgusted", "sadly angry", "fearfully surprised", "angrily surprised", "sadly fearful",
)
"""6 compound emotions of the atlas (Du, Tao & Martinez, PNAS 2014)."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def parse_au_overrides(items: Iterable[str]) -> dict[str, float]:
    """``["AU12=0.8", "au6=1", "AU12L=0.3", "AU52=0.5", "AU61=1"]`` -> rig channel values.

    Facial AUs (catalog) set their channel(s) (both sides unless ``L``/``R`` is given); head codes
    AU51-58 set pose channels (1.0 = 20 degrees, or 0.15 log scale); eye codes AU61-64 set gaze.
    Values must lie in [0, 1]. Raises InputError with one line on anything else.
    """
    from thinkdraw.facs import au_catalog, head_eye_codes

    out: dict[str, float] = {}
    cat, codes = au_catalog(), head_eye_codes()
    for item in items:
        text = str(item).strip()
        if "=" not in text:
            raise InputError(f"bad --au {text!r}: expected AU=VALUE, e.g. AU12=0.8")
        name, _, val = text.partition("=")
        channels = _au_channels(name, cat, codes)  # the name first: a wrong name is the error to report
        if channels is None:
            known = " ".join(_in_order(cat))
            raise InputError(f"unknown action unit {name.strip()!r} in --au {text!r} (facial: {known}, "
                             f"L or R after a sided one picks a side; head: AU51-58; gaze: AU61-64)")
        try:
            value = float(val)
        except ValueError:
            raise InputError(f"bad --au {text!r}: {val!r} is not a number") from None
        if not 0.0 <= value <= 1.0:
            raise InputError(f"bad --au {text!r}: intensity must be in [0, 1]")
        for ch, scale in channels:
            out[ch] = scale * value
    return out


def _in_order(codes: Iterable[str]) -> list[str]:
    """AU codes ('AU12', 'AU2', ...) sorted by number, as a user reads them in an error."""
    return sorted(codes, key=lambda a: int(a[2:]))


def _au_channels(name: str, cat: dict, codes: dict) -> list[tuple[str, float]] | None:
    """An ``--au`` name ('AU12', 'au6', 'AU2L', 'AU52') -> [(rig channel, value per unit)], or None
    when it names no AU of the catalog (facial, with an optional L/R side) or head/eye code."""
    from thinkdraw.facs import normalise_au
    from thinkdraw.motion import au_to_channels

    raw = name.strip().upper().replace(" ", "")
    side = "both"
    if raw[-1:] in ("L", "R") and raw[:-1]:
        side = "left" if raw[-1] == "L" else "right"
        raw = raw[:-1]
    au = normalise_au(raw)
    if au in cat:
        def two_sided(code: str) -> bool:  # a left and a right rig channel
            return len(au_to_channels(code)) == 2

        if side != "both" and not two_sided(au):
            sided = " ".join(a for a in _in_order(cat) if two_sided(a))
            raise InputError(f"{au} acts on both sides at once, so {name.strip()!r} cannot pick one "
                             f"(one-sided AUs: {sided})")
        return [(ch, 1.0) for ch in au_to_channels(au, side)]
    if au in codes and side == "both":
        info = codes[au]
        ch, sign = str(info["channel"]), float(info["sign"])
        mag = HEAD_DEGREES if ch in ("yaw", "pitch", "roll") else HEAD_SCALE if ch == "scale" else 1.0
        return [(ch, sign * mag)]
    return None


def _check_output(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"output {out} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    if out.exists() and out.is_dir():
        raise InputError(f"output {out} is a folder")
    from thinkdraw.utils.atomic import check_writable

    return check_writable(out)  # before the portrait is analysed and rendered, not after


def _save_image(path: Path, image: Any) -> None:
    from PIL import Image

    from thinkdraw.utils.atomic import atomic_path

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp)


def _load_portrait(path: str, face: int | None) -> tuple[Any, Any]:
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.image import load_image
    from thinkdraw.samples import SAMPLE_NAMES, is_sample

    if face is not None and face < 0:
        raise InputError(f"--face must be >= 0, got {face}")
    p = Path(path)
    # A bundled public-domain portrait ("astronaut", "grace_hopper") is loaded by name.
    if not is_sample(path):
        if not p.exists():
            raise InputError(f"portrait not found: {p} (bundled samples: {', '.join(SAMPLE_NAMES)})")
        if p.is_dir():
            raise InputError(f"portrait {p} is a folder, not an image")
    image = load_image(path)
    portrait = analyze_portrait(image, face=face, source=str(path))
    if abs(portrait.yaw) > TURNED_PHOTO_DEGREES:
        log.warning("the face is turned %.0f degrees in the photo (a frontal one, under about %.0f, works best): "
                    "its far cheek lies behind the nose, and renders can tear or streak there", portrait.yaw,
                    TURNED_PHOTO_DEGREES)
    return image, portrait


def _make_rig(portrait: Any) -> Any:
    try:
        from thinkdraw.face.rig import Rig
    except ImportError as exc:
        raise BackendError(f"the FACS rig is not available ({exc})") from None
    return Rig(portrait)


def emotion_params(text: str) -> dict[str, float]:
    """THINK plan for ``text`` at its apex -> {rig channel: value}."""
    try:
        from thinkdraw.think import plan_emotion
    except ImportError as exc:
        raise BackendError(f"THINK is not available ({exc})") from None
    return dict(plan_emotion(text).rig_params())


def render_still(image: Any, portrait: Any, params: dict[str, float], rig: Any = None, renderer: Any = None,
                 glasses: bool = True) -> Any:
    """Render one still: rig channel values -> (H, W, 3) uint8. ``glasses``: keep a detected
    spectacle frame rigid (RenderConfig.glasses)."""
    from thinkdraw.render.warp import Renderer, RenderConfig

    yaw = float(params.get("yaw", 0.0))
    if abs(yaw) > CLEAN_YAW_DEGREES:
        log.warning("a head turn of %.0f degrees is more than the photo holds (about %.0f): the side of the face "
                    "turning towards the camera is made up (stretched from a thin strip, or refilled with cheek "
                    "skin)", yaw, CLEAN_YAW_DEGREES)
    rig = rig or _make_rig(portrait)
    renderer = renderer or Renderer(image, portrait, RenderConfig(glasses=glasses), rig=rig)
    lm = rig.forward(params)
    return renderer.render(lm[0] if getattr(lm, "ndim", 2) == 3 else lm)


def _cmd_render(args: argparse.Namespace) -> int:
    out = _check_output(args.output)
    overrides = parse_au_overrides(_flatten(args.au))
    if args.emotion is not None and not args.emotion.strip():
        raise InputError("--emotion text is empty")
    image, portrait = _load_portrait(args.portrait, args.face)
    params: dict[str, float] = emotion_params(args.emotion) if args.emotion else {}
    params.update(overrides)
    frame = render_still(image, portrait, params, glasses=not args.no_glasses)
    _save_image(out, frame)
    return 0


def _flatten(items: Sequence[Sequence[str]] | None) -> list[str]:
    return [x for group in (items or []) for x in group]


def atlas_entries() -> list[tuple[str, dict[str, float] | str]]:
    """(label, params or emotion text) for every atlas tile after the source."""
    from thinkdraw.facs import au_catalog
    from thinkdraw.motion import au_to_channels

    entries: list[tuple[str, dict[str, float] | str]] = []
    for au, info in au_catalog().items():
        if str(info.get("rig", "both")).startswith("alias:"):
            continue
        for v in (0.5, 1.0):
            entries.append((f"{au} {v:g}", {ch: v for ch in au_to_channels(au)}))
    for e in BASIC_EMOTIONS + COMPOUND_EMOTIONS:
        entries.append((e, e))
    return entries


def build_atlas(image: Any, portrait: Any, tile: int = 160, columns: int = 10, progress: bool = True,
                glasses: bool = True) -> Any:
    """Contact sheet (uint8 RGB): the source, then every AU at 0.5 / 1.0, then the emotions.

    Tiles are cropped around the face box (so changes are visible) and labelled.
    """
    import numpy as np

    from thinkdraw.render.warp import Renderer, RenderConfig

    rig = _make_rig(portrait)
    renderer = Renderer(image, portrait, RenderConfig(glasses=glasses), rig=rig)
    x0, y0, x1, y1 = portrait.box
    side = max(x1 - x0, y1 - y0) * 1.08  # a little hair and chin around the face mesh
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    entries = atlas_entries()
    tiles = [_tile(image, cx, cy, side, tile, "source")]
    it: Iterable = entries
    if progress:
        from tqdm import tqdm

        it = tqdm(entries, desc="atlas", unit="tile", leave=False)
    for label, spec in it:
        params = emotion_params(spec) if isinstance(spec, str) else spec
        tiles.append(_tile(render_still(image, portrait, params, rig, renderer), cx, cy, side, tile, label))
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * (tile + 20), columns * tile, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * (tile + 20) : r * (tile + 20) + tile + 20, c * tile : (c + 1) * tile] = t
    return sheet


def _tile(frame: Any, cx: float, cy: float, side: float, size: int, label: str) -> Any:
    import cv2
    import numpy as np

    s = size / side
    A = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]])
    crop = cv2.warpAffine(frame, A, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(255, 255, 255))
    out = np.full((size + 20, size, 3), 255, np.uint8)
    out[:size] = crop
    cv2.putText(out, label, (4, size + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1, cv2.LINE_AA)
    return out


def _cmd_atlas(args: argparse.Namespace) -> int:
    out = _check_output(args.output)
    image, portrait = _load_portrait(args.portrait, args.face)
    sheet = build_atlas(image, portrait, tile=args.tile, columns=args.columns, glasses=not args.no_glasses)
    _save_image(out, sheet)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render one still of a portrait with action units or an emotion")
    p.add_argument("portrait", help="portrait image file")
    p.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, ...)")
    p.add_argument("--au", action="append", nargs="+", metavar="AU=V",
                   help="action unit intensities in [0, 1]: AU12=0.8, AU12L=0.5 (one side), AU52=0.5 (head), AU61=1 (gaze)")
    p.add_argument("--emotion", help="emotion text; THINK's plan at its apex (--au overrides or adds)")
    p.add_argument("--face", type=int, default=None, help="which face, 0 = largest (default)")
    p.add_argument("--no-glasses", action="store_true", help="let detected glasses move with the face mesh (default: rigid frame)")
    p.set_defaults(handler=_cmd_render)

    a = subparsers.add_parser("atlas", help="contact sheet: every facial AU at 0.5 and 1.0, 7 basic and 6 compound emotions")
    a.add_argument("portrait", help="portrait image file")
    a.add_argument("-o", "--output", required=True, help="output image (.png, .jpg, ...)")
    a.add_argument("--face", type=int, default=None, help="which face, 0 = largest (default)")
    a.add_argument("--tile", type=int, default=160, help="tile size in pixels (default 160)")
    a.add_argument("--columns", type=int, default=10, help="tiles per row (default 10)")
    a.add_argument("--no-glasses", action="store_true", help="let detected glasses move with the face mesh (default: rigid frame)")
    a.set_defaults(handler=_cmd_atlas)
