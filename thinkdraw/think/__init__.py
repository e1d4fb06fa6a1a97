"""THINK: emotion text -> EmotionPlan (chain of thought, emotion mixture, FACS AU targets, timing).

    >>> from thinkdraw.think import plan_emotion
    >>> plan = plan_emotion("a bittersweet smile, remembering an old friend")
    >>> plan.dominant, plan.au_dict()

Heavy parts (MiniLM) load on first use; ``Planner`` keeps them for many texts.
"""

from __future__ import annotations

from typing import Any

from thinkdraw.think.plan import AUTarget, EmotionPlan, EmotionWeight, Keyframe, Timing, TraceStep

__all__ = ["AUTarget", "EmotionPlan", "EmotionWeight", "Keyframe", "Planner", "Timing", "TraceStep", "plan_emotion"]


def __getattr__(name: str) -> Any:  # lazy: keep `import thinkdraw.think` light
    if name in ("Planner", "plan_emotion", "parse_keyframes"):
        from thinkdraw.think import planner

        return getattr(planner, name)
    raise AttributeError(name)
