"""FACE: portrait loading, MediaPipe face analysis, the face mesh topology and the FACS rig.

Public entry points (heavy imports happen inside the submodules, not here):

* :func:`thinkdraw.face.image.load_image` -- any image file/bytes/array -> (H, W, 3) uint8 RGB
  (EXIF orientation, grayscale, alpha on white, 16-bit, palette; size limits 64..12000 px).
* :func:`thinkdraw.face.analyze.analyze_portrait` -> :class:`thinkdraw.face.analyze.Portrait`
  (478 landmarks in full-image pixels, face box, head pose, face index/count; JSON via
  ``to_dict``/``from_dict``).  Faces are numbered largest first, from 0.
* :mod:`thinkdraw.face.mesh` -- ``triangles()`` (852, 3) and named landmark groups (lips, lids,
  irises, brows, oval); LEFT/RIGHT = the person's left/right.
* :mod:`thinkdraw.face.geometry` -- frames (pixel / camera / canonical), Umeyama similarity fit,
  head-pose Euler angles.
* :mod:`thinkdraw.face.canonical` -- the shipped canonical neutral face (IOD units) and mirror map.
* :class:`thinkdraw.face.rig.Rig` -- rig parameters (``thinkdraw.motion``) <-> landmarks on one
  portrait: ``forward``, ``inverse``, ``own_aus``, ``neutral_landmarks``; the authored AU fields
  live in ``thinkdraw/facs/rig.yaml``.
* ``thinkdraw face PORTRAIT`` (:mod:`thinkdraw.face.cli`) and ``python -m thinkdraw.face.bench``.
"""
