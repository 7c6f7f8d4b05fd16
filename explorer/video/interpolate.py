"""From timeline positions to what synthesis needs: W+ rows plus the noise / transform settings.

Kinds of interpolation (``Timeline.kind``), always row by row over W+ and always after each segment's
easing has reshaped its local time:

- ``linear``: a straight line in W+ between the keyframes' final W+ (truncation and mixing included).
  Truncation is affine, so a psi sweep or a mix sweep on fixed seeds is the same as interpolating psi or
  the mix weights themselves.
- ``slerp``: between two *seed keyframes* (A, and B if mixed, are plain integer seeds; same class) the
  seeds' z are interpolated on the great circle, mapped, then truncated with the interpolated per-row psi
  and mixed with the interpolated weights: the walk stays where the mapping network was trained.
  Any other segment (imported W+, fractional seed-pad positions, a class change, a blend that maps with
  its model B) falls back to linear in W.
- ``cubic``: a Catmull-Rom spline in W+ through all keyframes (gen_video.py's feel). Tangents are
  finite differences over *time*, so segments of different lengths still join with a continuous velocity;
  for equal durations it is the uniform Catmull-Rom. Without loop the ends use a duplicated end point
  (a gentle start and stop); with loop the spline is periodic, so the video loops seamlessly.

Scalars that go to synthesis rather than into W+ (noise strength, translate, rotate) follow the same
curve: Catmull-Rom for ``cubic``, straight lines otherwise. When looping, the closing segment's rotation
continues to the first keyframe's angle on the nearest winding (0, 120, 240 closes through 360, not
back through 120). Discrete fields (noise mode and seed, class) are the segment's first keyframe's.

A model blend (``State.blend``) follows the same curve: between two sigmoid curves on one model B the
middle (in log2 pixels) and the width move, so the point where B takes over travels; between any other
curves (step, per-layer, or a blend starting or ending, where B's share is 0) each layer's weight of B
moves. In-between frames carry the result as a per-layer blend. A segment to another model B holds the
first keyframe's blend.

A frame that sits exactly on a keyframe is the keyframe's own state, so it renders bitwise as
``Renderer.render(keyframe.state)`` does.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from explorer.engine.blend import blend_weights, layer_weights
from explorer.engine.latents import edit_offset, map_z, mix_rows, seed_to_z, truncate
from explorer.engine.params import CONTINUOUS_KINDS, Param, ParamRegistry
from explorer.engine.render import Renderer
from explorer.engine.state import Blend, Latent, State
from explorer.errors import StateError, UsageError
from explorer.video.easing import ease
from explorer.video.timeline import FramePos, Timeline


@dataclass(frozen=True)
class Frame:
    """What one frame synthesizes: ``wplus`` [num_ws, w_dim] with ``settings``' noise and transform.

    ``keyframe`` is the keyframe's index when the frame sits on one; then ``settings`` is that keyframe's
    state, and the renderer synthesizes it alone (batch of one) to match ``Renderer.render`` bitwise.
    """

    wplus: torch.Tensor
    settings: State
    keyframe: int | None = None

    @property
    def settings_key(self) -> tuple:
        """Frames with equal keys can share one synthesis call."""
        s = self.settings
        return (s.noise_mode, s.noise_seed, s.noise_strength, s.translate, s.rotate, s.blend)


class CurvePath:
    """A curve through K keyframe values (tensors [K, ...], on any device) with one piece per segment.

    ``offset`` is added to the first keyframe's value where the loop closes (rotation windings).
    """

    def __init__(self, points: torch.Tensor, durations: list[float], loop: bool, cubic: bool,
                 offset: torch.Tensor | None = None):
        k = points.shape[0]
        count = k if loop else k - 1
        offset = torch.zeros_like(points[0]) if offset is None else offset.to(points)
        nxt = [(i + 1) % k for i in range(count)]
        self.cubic = cubic
        self.start = points[:count]
        self.end = points[nxt].clone()
        if loop and count:
            self.end[-1] += offset
        if not cubic or count == 0:
            return
        tangents = []
        for j in range(k):
            if loop:
                prev = points[j - 1] - offset if j == 0 else points[j - 1]
                after = points[0] + offset if j == k - 1 else points[j + 1]
                span = durations[j - 1] + durations[j]
            else:
                prev = points[max(j - 1, 0)]
                after = points[min(j + 1, k - 1)]
                span = durations[max(j - 1, 0)] + durations[min(j, k - 2)]
            tangents.append((after - prev) / span if span > 0 else torch.zeros_like(points[j]))
        tangents = torch.stack(tangents)
        scale = torch.tensor([durations[i] for i in range(count)], dtype=points.dtype, device=points.device)
        scale = scale.reshape(-1, *[1] * (points.dim() - 1))
        self.start_tangent = tangents[:count] * scale  # tangents in 'per segment' units
        self.end_tangent = tangents[nxt] * scale

    def at(self, segments: list[int], eased: list[float]) -> torch.Tensor:
        """Values at the segments' eased local times, [N, ...]."""
        idx = torch.tensor(segments, dtype=torch.long, device=self.start.device)
        u = torch.tensor(eased, dtype=self.start.dtype, device=self.start.device)
        u = u.reshape(-1, *[1] * (self.start.dim() - 1))
        a, b = self.start[idx], self.end[idx]
        if not self.cubic:
            return torch.lerp(a, b, u)
        u2, u3 = u * u, u * u * u
        return ((2 * u3 - 3 * u2 + 1) * a + (u3 - 2 * u2 + u) * self.start_tangent[idx]
                + (3 * u2 - 2 * u3) * b + (u3 - u2) * self.end_tangent[idx])


def _plain_seed(latent: Latent) -> bool:
    return latent.w_plus is None and not latent.is_fractional


def _maps_with_b(state: State) -> bool:
    """Whether a state's W comes from its blend's model B (slerp maps with the open model's network)."""
    return state.blend is not None and state.blend.mapping == "b"


SYNTHESIS_GROUPS = ("noise", "transform")  # parameters that go to synthesis rather than into W+


def synthesis_scalars(generator) -> list[Param]:
    """The continuous parameters a frame hands to synthesis (noise strength, translate, rotate where the
    model has an input transform), from the registry's kinds: they follow the W+ curve; every other
    parameter outside W+ (noise mode and seed, class) is discrete and holds for the segment."""
    return [p for p in ParamRegistry.for_model(generator)
            if p.kind in CONTINUOUS_KINDS and p.group in SYNTHESIS_GROUPS]


def slerp(z0: np.ndarray, z1: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two z vectors as they are (not normalised): random z of one model
    have nearly equal lengths, so the path keeps to the shell where the mapping network was trained."""
    cos = float(np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


class TimelineSampler:
    """Turns positions of one timeline into ``Frame``s for one renderer (model).

    The keyframes' W+ are computed once, on construction; sampling is cheap except for slerp segments,
    which run the mapping network once per batch of frames.
    """

    def __init__(self, renderer: Renderer, timeline: Timeline):
        if not timeline.keyframes:
            raise UsageError("the timeline has no keyframes")
        self.renderer = renderer
        self.timeline = timeline
        keys = timeline.keyframes
        durations = [k.duration for k in keys]
        cubic = timeline.kind == "cubic"
        self.keyframe_wplus = torch.stack([self._keyframe_wplus(i, k.state) for i, k in enumerate(keys)])
        self._wpath = CurvePath(self.keyframe_wplus, durations, timeline.loop, cubic)
        self._scalars = synthesis_scalars(renderer.generator)
        scalars = torch.tensor([[p.get(k.state) for p in self._scalars] for k in keys], dtype=torch.float64)
        winding = 360.0 * round((keys[-1].state.rotate - keys[0].state.rotate) / 360.0)
        self._spath = CurvePath(scalars, durations, timeline.loop, cubic,
                                torch.tensor([winding if p.address == "rotate" else 0.0 for p in self._scalars],
                                             dtype=torch.float64))
        self._blend_paths = None
        if any(k.state.blend is not None for k in keys):
            self._layer_infos = list(renderer.generator.layer_infos())
            no_blend = [0.0] * len(self._layer_infos)  # B's share where a keyframe has no blend
            weights = torch.tensor([no_blend if k.state.blend is None else blend_weights(k.state.blend, self._layer_infos)
                                    for k in keys], dtype=torch.float64)
            sigmoid = torch.tensor([[math.log2(b.mid), b.width] if b is not None else [0.0, 1.0]
                                    for b in (k.state.blend for k in keys)], dtype=torch.float64)
            self._blend_paths = (CurvePath(weights, durations, timeline.loop, cubic),
                                 CurvePath(sigmoid, durations, timeline.loop, cubic))
        self._slerp_segments = set()
        if timeline.kind == "slerp":
            g = renderer.generator
            for i in range(timeline.segment_count):
                s0, s1 = keys[i].state, keys[(i + 1) % len(keys)].state
                mixed = any(s0.mix_weights(g.num_ws)) or any(s1.mix_weights(g.num_ws))
                if (s0.class_idx == s1.class_idx and _plain_seed(s0.a) and _plain_seed(s1.a)
                        and (not mixed or (_plain_seed(s0.b) and _plain_seed(s1.b)))
                        and not _maps_with_b(s0) and not _maps_with_b(s1)):
                    self._slerp_segments.add(i)

    def _keyframe_wplus(self, index: int, state: State) -> torch.Tensor:
        """[num_ws, w_dim] of one keyframe; a state this model cannot take is a one-line error."""
        try:
            return self.renderer.wplus(state)
        except ValueError as exc:  # e.g. a class the model does not have
            raise UsageError(f"keyframe {index + 1}: {exc}") from None
        except StateError as exc:  # e.g. imported W+ of another model's shape
            raise UsageError(f"keyframe {index + 1}: {exc.reason}") from None

    # ---- frames ------------------------------------------------------------------------------------
    def sample(self, positions: list[FramePos]) -> list[Frame]:
        """The frames at ``positions`` (any order, any mix of keyframes and in-betweens)."""
        keys = self.timeline.keyframes
        out: list[Frame | None] = [None] * len(positions)
        between = []
        for n, pos in enumerate(positions):
            if pos.keyframe is not None:
                out[n] = Frame(self.keyframe_wplus[pos.keyframe], keys[pos.keyframe].state, pos.keyframe)
            else:
                between.append(n)
        if between:
            segments = [positions[n].segment for n in between]
            eased = [ease(keys[s].easing, positions[n].u) for s, n in zip(segments, between)]
            wplus = self._wpath.at(segments, eased)
            slerped = [m for m, s in enumerate(segments) if s in self._slerp_segments]
            if slerped:
                wplus[slerped] = self._slerp_wplus([segments[m] for m in slerped], [eased[m] for m in slerped])
            scalars = self._spath.at(segments, eased).tolist()
            blends = self._between_blends(segments, eased)
            for m, n in enumerate(between):
                settings = keys[segments[m]].state.replace(blend=blends[m])
                for param, value in zip(self._scalars, scalars[m]):
                    settings = param.set(settings, value)
                out[n] = Frame(wplus[m], settings)
        return out  # type: ignore[return-value]

    def _between_blends(self, segments: list[int], eased: list[float]) -> list[Blend | None]:
        """The blend of each in-between frame (see the module docstring)."""
        keys = self.timeline.keyframes
        if self._blend_paths is None:
            return [None] * len(segments)
        weights = self._blend_paths[0].at(segments, eased).clamp(0.0, 1.0).tolist()  # a spline may overshoot
        sigmoids = self._blend_paths[1].at(segments, eased).tolist()
        out = []
        for seg, layers, (log_mid, width) in zip(segments, weights, sigmoids):
            b0, b1 = keys[seg].state.blend, keys[(seg + 1) % len(keys)].state.blend
            if b0 is not None and b1 is not None and (b0.model, b0.sha256) != (b1.model, b1.sha256):
                out.append(b0)
                continue
            if b0 is not None and b1 is not None and b0.mode == b1.mode == "sigmoid":
                layers = layer_weights(self._layer_infos, "sigmoid", 2.0 ** log_mid, max(width, 0.01))
            out.append(dataclasses.replace(b0 or b1, mode="layers", layers=tuple(layers)))
        return out

    def _slerp_wplus(self, segments: list[int], eased: list[float]) -> torch.Tensor:
        """W+ of slerp frames: z on the great circle, mapped in one batch, truncated and mixed per row."""
        g = self.renderer.generator
        keys = self.timeline.keyframes
        num_ws = g.num_ws
        za, zb, psis, mixes, classes = [], [], [], [], []
        for seg, t in zip(segments, eased):
            s0, s1 = keys[seg].state, keys[(seg + 1) % len(keys)].state
            za.append(slerp(seed_to_z(s0.a.seed, g.z_dim)[0], seed_to_z(s1.a.seed, g.z_dim)[0], t))
            zb.append(slerp(seed_to_z(s0.b.seed, g.z_dim)[0], seed_to_z(s1.b.seed, g.z_dim)[0], t))
            p0, p1 = np.array(s0.row_psis(num_ws)), np.array(s1.row_psis(num_ws))
            m0, m1 = np.array(s0.mix_weights(num_ws)), np.array(s1.mix_weights(num_ws))
            psis.append(p0 + (p1 - p0) * t)
            mixes.append(m0 + (m1 - m0) * t)
            classes.append(s0.class_idx)
        n = len(segments)
        w = truncate(map_z(g, np.stack(za + zb), classes + classes), g.mapping.w_avg,
                     torch.tensor(np.stack(psis + psis), device=g.mapping.w_avg.device))
        mixed = mix_rows(w[:n], w[n:], torch.tensor(np.stack(mixes), device=w.device))
        return mixed + torch.stack([self._edit_offset(seg, t) for seg, t in zip(segments, eased)]).to(mixed.dtype)

    def _edit_offset(self, segment: int, t: float) -> torch.Tensor:
        """The edits' displacement between two keyframes: amounts interpolate, so the offset does too."""
        keys = self.timeline.keyframes
        g = self.renderer.generator
        device = g.mapping.w_avg.device
        s0, s1 = keys[segment].state, keys[(segment + 1) % len(keys)].state
        o0 = edit_offset(s0.edits, g.num_ws, g.w_dim, device)
        o1 = edit_offset(s1.edits, g.num_ws, g.w_dim, device)
        return torch.lerp(o0, o1, t)

    # ---- states for the window ---------------------------------------------------------------------
    def state_at(self, pos: FramePos) -> State:
        """A State that renders the frame at ``pos``: the keyframe itself, or its W+ baked in as imported rows.

        An in-between State carries the interpolated W+ as ``a.w_plus`` with psi 1 and no mixing, so
        ``Renderer.render`` of it gives the frame (what the window's scrubber shows).
        """
        frame = self.sample([pos])[0]
        if frame.keyframe is not None:
            return frame.settings
        rows = tuple(tuple(row) for row in frame.wplus.tolist())
        return frame.settings.replace(a=Latent(seed=frame.settings.a.seed, w_plus=rows), mix=(), psi=1.0,
                                      cutoff=None, layer_psi=())
