"""Running statistics for stats.jsonl: each name -> {num, mean, std}, like NVIDIA's training_stats.

Values are accumulated as (count, sum, sum of squares) in float64 on the CPU, so ranks can be merged
with one all-reduce and a tick's numbers do not depend on how its batches were split.
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch


class Stats:
    def __init__(self):
        self._acc: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(3, dtype=torch.float64))

    def report(self, name: str, value) -> None:
        t = torch.as_tensor(value).detach().flatten().to("cpu", torch.float64)
        t = t[torch.isfinite(t)]
        if t.numel():
            self._acc[name] += torch.stack([torch.tensor(float(t.numel()), dtype=torch.float64), t.sum(), t.square().sum()])

    def collect(self, reduce=None, names: list[str] | None = None) -> dict[str, dict]:
        """Merge (optionally across ranks with ``reduce``), reset, and return name -> {num, mean, std}.

        ``names`` fixes the set and order of names so every rank reduces the same tensor; names a rank
        never saw contribute zeros.
        """
        names = sorted(self._acc) if names is None else names
        table = torch.stack([self._acc[n] if n in self._acc else torch.zeros(3, dtype=torch.float64) for n in names]) if names else torch.zeros(0, 3, dtype=torch.float64)
        if reduce is not None and names:
            table = reduce(table)
        self._acc.clear()
        out = {}
        for name, (num, total, sq) in zip(names, table.tolist()):
            if num <= 0:
                continue
            mean = total / num
            std = math.sqrt(max(sq / num - mean * mean, 0.0))
            out[name] = {"num": num, "mean": mean, "std": std}
        return out
