"""``thinkdraw face``: analyse a portrait (faces found, box, head pose, own AUs, landmarks).

Registering is cheap; MediaPipe and the rig are imported inside the handler.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "face",
        help="analyse a portrait: 478 landmarks, face box, head pose, the face's own AUs",
        description="Find the faces in a portrait (largest first), analyse one with MediaPipe Face "
        "Mesh and the FACS rig, and print a summary (or the full Portrait as JSON).",
    )
    p.add_argument("portrait", help="image file (jpg, png, ...; grayscale/RGBA/16-bit are fine)")
    p.add_argument("--face", type=int, default=None, metavar="N",
                   help="which face: 0 = the largest (default), 1 = the next largest, ...")
    p.add_argument("--json", action="store_true", help="print the Portrait (with own AUs) as JSON on stdout")
    p.add_argument("-o", "--output", default=None, metavar="OUT.json", help="also write the JSON to this file")
    p.add_argument("--draw", default=None, metavar="OUT.png", help="write the portrait with its mesh drawn on it")
    p.set_defaults(handler=run_face)


def run_face(args: argparse.Namespace) -> int:
    from thinkdraw.errors import InputError
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.image import load_image
    from thinkdraw.face.rig import Rig
    from thinkdraw.utils.atomic import atomic_write_text, check_writable

    if args.face is not None and args.face < 0:
        raise InputError(f"--face must be >= 0, got {args.face}")
    for out in (args.output, args.draw):  # before the analysis, not a traceback after it
        if out:
            check_writable(out)
    image = load_image(args.portrait)
    portrait = analyze_portrait(image, face=args.face, source=str(args.portrait))
    rig = Rig(portrait)
    data = portrait.to_dict()
    data["own_aus"] = {k: round(v, 3) for k, v in rig.own_aus.items()}
    if args.output:
        atomic_write_text(args.output, json.dumps(data))
    if args.draw:
        _draw(image, portrait.landmarks, args.draw)
    if args.json:
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    x0, y0, x1, y1 = portrait.box
    own = ", ".join(f"{k}={v:.2f}" for k, v in rig.own_aus.items() if v > 0) or "none"
    sys.stdout.write(
        f"{args.portrait}: {portrait.num_faces} face(s); face {portrait.face_index}: "
        f"box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) px, yaw {portrait.yaw:+.1f} "
        f"pitch {portrait.pitch:+.1f} roll {portrait.roll:+.1f} deg; own AUs: {own}\n"
    )
    return 0


def _draw(image, landmarks, path: str) -> None:
    """Draw the tessellation and irises on a copy of the image and save it atomically."""
    import cv2
    import numpy as np

    from thinkdraw.face import mesh
    from thinkdraw.utils.atomic import atomic_write_bytes

    canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    thick = max(1, round(max(image.shape[:2]) / 800))
    pts = np.round(landmarks[:, :2]).astype(np.int32)
    lines = [np.stack([pts[a], pts[b]]) for a, b in mesh.tessellation_edges()]
    cv2.polylines(canvas, lines, False, (80, 220, 80), thick, cv2.LINE_AA)
    for ring in (mesh.LIPS_INNER, mesh.LEFT_EYE, mesh.RIGHT_EYE):
        cv2.polylines(canvas, [pts[list(ring)]], True, (60, 60, 255), thick, cv2.LINE_AA)
    for i in mesh.IRISES:
        cv2.circle(canvas, tuple(int(v) for v in pts[i]), thick + 1, (255, 200, 0), -1)
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ".png"
    ok, buf = cv2.imencode(suffix if suffix in (".png", ".jpg", ".jpeg") else ".png", canvas)
    if not ok:  # pragma: no cover
        raise RuntimeError("could not encode the drawing")
    atomic_write_bytes(path, buf.tobytes())
