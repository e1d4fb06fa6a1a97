"""Measurement: judges nobody here wrote (FER2013, dlib identity) and the rig's closed loop."""
