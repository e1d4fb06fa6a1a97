"""RENDER: mesh-warp renderer (warp.py), mouth interior, eyes, torch batch path, video writer.

Heavy imports live in the submodules: ``from thinkdraw.render.warp import Renderer``.
"""
