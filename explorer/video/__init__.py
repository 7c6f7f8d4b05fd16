"""Animation: timelines of keyframe states, interpolation, recipes, offline rendering and encoding.

Qt-free, like the engine. The pieces, each in its own module:

- ``easing``: the easing curves of a segment;
- ``timeline``: ``Keyframe`` / ``Timeline`` (immutable, versioned JSON) and the frame schedule;
- ``interpolate``: timeline positions -> W+ and synthesis settings (linear, slerp, cubic);
- ``recipes``: timelines built for you (seed walk, circular loop, noise loop, truncation sweep, SG3 motion);
- ``render``: frames of one timeline or a grid of them, batched through the generator;
- ``encoders``: MP4 / WebM (PyAV), GIF (Pillow), PNG folder, all written under a temporary name first;
- ``export``: ``export_video(renderer, timeline, output, ...)`` with progress and cancel.
"""
