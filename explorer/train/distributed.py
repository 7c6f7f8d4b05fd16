"""Running training on several processes: one per GPU (or CPU processes with gloo, for tests).

Three ways in, one training function ``fn(rank, world_size, options)``:

- ``--gpus 1`` (or CPU): called directly in this process;
- ``--gpus N``: ``launch`` spawns N processes with ``torch.multiprocessing`` and a file:// rendezvous in
  a private temp folder; SIGTERM/SIGINT to the parent are forwarded so the children stop gracefully;
- ``torchrun --nproc_per_node N -m explorer train ...``: RANK / WORLD_SIZE / LOCAL_RANK come from
  the environment (``env://``) and nothing is spawned.

Gradients are averaged by one all-reduce of all of a network's gradients flattened together (as
NVIDIA's loop does) rather than by wrapping in DistributedDataParallel: the lazy-regularisation phases
touch different parameter subsets, which DDP handles badly, and one flat all-reduce per phase is as
fast. The backend is NCCL for CUDA and gloo for CPU.
"""

from __future__ import annotations

import os
import signal
import tempfile
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    """This process's place: ``rank`` of ``world_size``, and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over ranks (a copy). float64 CPU tensors are moved to the backend's device and back."""
        if not self.active:
            return tensor
        t = tensor.to(self._comm_device()).clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.to(tensor.device)

    def broadcast_module(self, module: torch.nn.Module) -> None:
        if not self.active:
            return
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.numel():
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Average gradients across ranks (flattened into one tensor), and zap NaN/Inf as NVIDIA does."""
        params = [p for p in params if p.grad is not None]
        if not params:
            return
        flat = torch.cat([p.grad.flatten() for p in params])
        if self.active:
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)
            flat /= self.world_size
        torch.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad.copy_(g.reshape(p.shape))

    def any_flag(self, flag: bool) -> bool:
        """True on every rank if it is True on any (for stop requests seen by one process)."""
        if not self.active:
            return flag
        return bool(self.all_reduce_sum(torch.tensor([float(flag)]))[0] > 0)

    def all_gather_object(self, obj):
        if not self.active:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def _comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def _device_for(rank: int, device: str) -> torch.device:
    if device == "cuda":
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def init_process(rank: int, world_size: int, device: str, init_method: str | None) -> Dist:
    """Join the process group (if there is more than one process) and pick this rank's device."""
    dev = _device_for(rank, device)
    if world_size > 1 and not dist.is_initialized():  # torchrun runs join early (see loop.train)
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if init_method is None:
            dist.init_process_group(backend=backend, init_method="env://")
        else:
            dist.init_process_group(backend=backend, init_method=init_method, rank=rank, world_size=world_size)
    if dev.type == "cpu" and world_size > 1:
        # CPU processes share the machine's cores; oversubscribing them makes everyone slower.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    return Dist(rank=rank, world_size=world_size, device=dev)


def broadcast_object(obj, rank: int):
    """Rank 0's ``obj`` on every rank (torchrun: the run directory rank 0 created)."""
    holder = [obj if rank == 0 else None]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def torchrun_env() -> tuple[int, int] | None:
    """(rank, world_size) when started by torchrun, else None."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    return None


def _spawned(rank: int, fn, world_size: int, device: str, init_file: str, options) -> None:
    import sys

    from explorer.errors import ExplorerError

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards stop requests as SIGTERM
    try:
        fn(rank, world_size, device, f"file://{init_file}", options)
    except ExplorerError as exc:  # one line, no traceback; the parent reports the exit status
        print(f"explorer train (process {rank}): error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)


def launch(fn, world_size: int, device: str, options) -> None:
    """Run ``fn(rank, world_size, device, init_method, options)`` on every rank (see module doc)."""
    env = torchrun_env()
    if env is not None:
        fn(env[0], env[1], device, None, options)
        return
    if world_size == 1:
        fn(0, 1, device, None, options)
        return
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as tmp:
        init_file = os.path.join(tmp, ".torch_distributed_init")
        context = mp.start_processes(
            _spawned, args=(fn, world_size, device, init_file, options), nprocs=world_size, join=False, start_method="spawn"
        )

        def forward(signum, frame):
            for process in context.processes:
                if process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)

        old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not context.join(timeout=1):
                pass
        except mp.ProcessExitedException as exc:
            from explorer.train.snapshot import TrainingError

            raise TrainingError(f"training process {exc.error_index} exited with status {exc.exit_code}; see log.txt") from None
        except mp.ProcessRaisedException as exc:
            from explorer.train.snapshot import TrainingError

            last = [line for line in str(exc).strip().splitlines() if line.strip()][-1]
            raise TrainingError(f"training process {exc.error_index} failed: {last.strip()}") from None
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
