"""Find the largest batch size whose whole training step fits the device, measured by the device's allocator.

A batch size fits when one full step — forward, backward and the optimiser's update — runs without the device
running out of memory and, if a budget is given, without using more than the budget. The search doubles the
batch size until a step fails, then bisects between the last size that fitted and the first that did not.

Memory comes from the device's own allocator, never from the process's resident set size (RSS):

- **cuda**: ``torch.cuda.max_memory_allocated`` after ``torch.cuda.reset_peak_memory_stats`` — the step's peak.
- **mps**: ``torch.accelerator.max_memory_allocated`` after ``torch.accelerator.reset_peak_memory_stats``, the
  MPS allocator's peak, which torch 2.14 exposes (its ``IMPSAllocator`` is a ``c10::DeviceAllocator``,
  pytorch/pytorch#186748). Where that raises (older torch), ``torch.mps.driver_allocated_memory`` after the
  step: everything Metal holds for the process, cached blocks and the MPS framework's own allocations included,
  which bounds the step's peak from above and never returns to zero.
- **cpu**: the CPU allocator keeps no statistics, and a CPU step that outgrows RAM is killed by the operating
  system rather than raising. A budget on the CPU therefore needs an ``estimate`` (bytes for a batch size).

A cap set with ``torch.mps.set_per_process_memory_fraction`` is met in whole Metal heaps: the MPS allocator
compares the cap with Metal's ``currentAllocatedSize`` (every heap, whole) plus the request, and puts a request of
10 to 512 MiB in a new 1 GiB heap (``getHeapTier`` in ``MPSAllocator.h``). Once such a heap takes the total over
the cap, every allocation fails while it holds a live tensor, so a capped search on MPS stops at a heap boundary
that can lie far below a cap under 2 GiB. The budget, read from the allocator's peak, counts buffers, not heaps.

Before the first probe the search records a baseline: what live tensors hold when no step runs (weights,
optimiser state), or ``estimate(0)``. A budget is compared with a step's whole peak, baseline included.

An out-of-memory error is ``torch.OutOfMemoryError`` on CUDA; on MPS it is a ``RuntimeError`` whose message
starts with "MPS backend out of memory". After one, the search drops every reference to the failed step,
collects garbage and empties the allocator's cache before it tries again.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from mpsbook.device import synchronize

#: Messages that mark an out-of-memory ``RuntimeError`` (older builds did not raise ``torch.OutOfMemoryError``).
OOM_MESSAGES = (
    "MPS backend out of memory",
    "CUDA out of memory",
    "CUDA error: out of memory",  # the CUDA runtime's own error, e.g. when cuBLAS cannot allocate its workspace
)

__all__ = [
    "OOM_MESSAGES",
    "AllocatorPeak",
    "Probe",
    "SearchResult",
    "find_batch_size",
    "is_out_of_memory",
    "release_memory",
]


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a device running out of memory (and not some other failure)."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and any(message in str(err) for message in OOM_MESSAGES)


def release_memory(device: torch.device | str, collect: bool = True) -> None:
    """Hand the allocator's cached blocks back (cuda, mps), after collecting garbage if ``collect``.

    Tensors nobody references are freed at once; ``gc.collect()`` (slow: ~0.1 s with torch loaded) is only
    needed for those caught in reference cycles, such as the frames of a caught exception's traceback.
    """
    device = torch.device(device)
    if collect:
        gc.collect()
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


class AllocatorPeak:
    """The bytes a step used, as the device's allocator reports them (``None`` on the cpu)."""

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self._mps_peak = True  # whether torch.accelerator's peak counter works for mps in this torch

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.device.type == "mps" and self._mps_peak:
            try:
                torch.accelerator.reset_peak_memory_stats()
            except (RuntimeError, AttributeError):  # torch before 2.14: the MPS allocator is no DeviceAllocator
                self._mps_peak = False

    def peak(self) -> int | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device)
        if self.device.type == "mps":
            if self._mps_peak:
                try:
                    return torch.accelerator.max_memory_allocated()
                except (RuntimeError, AttributeError):
                    self._mps_peak = False
            return torch.mps.driver_allocated_memory()
        return None

    def current(self) -> int | None:
        """Bytes that live tensors hold now (``None`` on the cpu)."""
        if self.device.type == "cuda":
            return torch.cuda.memory_allocated(self.device)
        if self.device.type == "mps":
            return torch.mps.current_allocated_memory()
        return None


@dataclass(frozen=True)
class Probe:
    """One tried batch size: whether it fitted, the bytes it used (if known) and why it did not fit."""

    batch_size: int
    fits: bool
    bytes: int | None
    reason: str  # "fits", "out of memory" or "over budget"


@dataclass
class SearchResult:
    """The largest batch size that fitted (0 if none did), every probe in the order tried, and the baseline.

    ``baseline_bytes`` is what live tensors held before the first probe (or ``estimate(0)``): the part of every
    step's memory that does not grow with the batch size.
    """

    batch_size: int
    probes: list[Probe] = field(default_factory=list)
    budget_bytes: int | None = None
    baseline_bytes: int | None = None

    def rows(self) -> list[dict[str, object]]:
        """The probes as table rows (batch size, fits, MiB, reason)."""
        return [
            {
                "batch size": p.batch_size,
                "fits": p.fits,
                "MiB": None if p.bytes is None else round(p.bytes / 2**20, 1),
                "reason": p.reason,
            }
            for p in self.probes
        ]


def find_batch_size(
    step: Callable[[int], object],
    device: torch.device | str,
    *,
    start: int = 1,
    limit: int = 4096,
    budget_bytes: int | None = None,
    estimate: Callable[[int], int] | None = None,
    meter: AllocatorPeak | None = None,
    granularity: int = 1,
) -> SearchResult:
    """The largest batch size in ``[1, limit]`` for which ``step(batch_size)`` fits ``device``.

    ``step`` must run one whole training step (forward, backward, optimiser step) and keep nothing alive
    afterwards. ``budget_bytes`` caps the memory a step may use, as measured by ``meter`` (the device's
    allocator by default) or, if given, computed by ``estimate(batch_size)``. Errors other than running out
    of memory propagate unchanged; a size that the estimate puts over budget is not run at all. With
    ``granularity`` > 1 only its multiples are tried (``start`` and ``limit`` must be multiples too), which
    saves the last probes of the bisection.
    """
    device = torch.device(device)
    if not (isinstance(start, int) and isinstance(limit, int) and 1 <= start <= limit):
        raise ValueError(f"need whole numbers 1 <= start <= limit, got start={start!r}, limit={limit!r}.")
    if not (isinstance(granularity, int) and granularity >= 1 and start % granularity == limit % granularity == 0):
        raise ValueError(f"granularity must be a whole number >= 1 that divides start and limit, got {granularity!r}.")
    if budget_bytes is not None and not budget_bytes > 0:
        raise ValueError(f"budget_bytes must be a positive number of bytes or None, got {budget_bytes!r}.")
    meter = meter or AllocatorPeak(device)
    if budget_bytes is not None and estimate is None and device.type == "cpu" and meter.peak() is None:
        raise ValueError(
            "the cpu allocator keeps no statistics to hold a budget against: "
            "pass estimate=<bytes for a batch size> or budget_bytes=None."
        )
    release_memory(device, collect=False)
    baseline = estimate(0) if estimate is not None else meter.current()
    result = SearchResult(0, [], budget_bytes, baseline)

    def probe(batch_size: int) -> bool:
        if estimate is not None and budget_bytes is not None and estimate(batch_size) > budget_bytes:
            result.probes.append(Probe(batch_size, False, estimate(batch_size), "over budget"))
            return False  # the estimate rules it out: no need to run the step
        release_memory(device, collect=False)
        meter.reset()
        out_of_memory = False
        try:
            step(batch_size)
            synchronize(device)  # an asynchronous device reports its errors here at the latest
        except (RuntimeError, torch.OutOfMemoryError) as err:
            if not is_out_of_memory(err):
                raise
            out_of_memory = True  # leave the except block first: the traceback holds the step's tensors
        if out_of_memory:
            release_memory(device)
            result.probes.append(Probe(batch_size, False, None, "out of memory"))
            return False
        used = estimate(batch_size) if estimate is not None else meter.peak()
        if budget_bytes is not None and used is not None and used > budget_bytes:
            result.probes.append(Probe(batch_size, False, used, "over budget"))
            return False
        result.probes.append(Probe(batch_size, True, used, "fits"))
        return True

    good, bad, size = 0, None, start
    while bad is None:
        if probe(size):
            good = size
            if size == limit:
                break
            size = min(2 * size, limit)
        else:
            bad = size
    if bad is not None:
        while bad - good > granularity:
            mid = (good + bad) // (2 * granularity) * granularity
            if probe(mid):
                good = mid
            else:
                bad = mid
    result.batch_size = good
    release_memory(device, collect=False)
    return result
