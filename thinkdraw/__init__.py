"""thinkdraw: make a portrait talk with a feeling you describe in words, muscle by muscle.

The flow (see DESIGN.md): THINK (emotion text -> EmotionPlan) and SPEECH (text/audio ->
SpeechTrack) feed DRAW (motion over rig parameters), which FACE + RENDER turn into video.
Every value between stages is a typed, JSON-serialisable object.
"""

__version__ = "0.1.0"
