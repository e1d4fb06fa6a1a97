"""FACE: portrait loading, MediaPipe face analysis, the face mesh topology and the FACS rig.

Public entry points (heavy imports happen inside the submodules, not here):

* :func:`thinkdraw.face.image.load_image` -- any image file/bytes -> (H, W, 3) uint8 RGB.
* :func:`thinkdraw.face.analyze.analyze_portrait` -> :class:`thinkdraw.face.analyze.Portrait`.
* :mod:`thinkdraw.face.mesh` -- triangles and named landmark index groups.
* :class:`thinkdraw.face.rig.Rig` -- rig parameters <-> landmarks on one portrait.
"""
