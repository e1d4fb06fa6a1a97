"""DRAW: motion over rig parameters (procedural simulator and guided diffusion). Not built yet."""
