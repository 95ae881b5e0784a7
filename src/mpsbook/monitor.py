"""A background monitor that samples a process's CPU and memory and the device allocator's figures.

The guide's monitor (section 10.3) builds a new ``psutil.Process()`` for every sample. psutil measures
CPU use *between two calls on the same object*, and the first call on a new object has nothing to compare
with, so it returns ``0.0`` — every sample the guide records is zero. :class:`ResourceMonitor` keeps one
``Process`` for its whole life, primes it once, and then samples at a fixed interval in a thread:

- ``cpu_percent``: the process's CPU use since the previous sample (100 = one core busy; can exceed 100),
- ``rss_bytes``: the process's resident set size,
- ``device_allocated_bytes`` and ``device_reserved_bytes``: what the device's caching allocator reports —
  ``torch.mps.current_allocated_memory()`` / ``torch.mps.driver_allocated_memory()`` on mps,
  ``torch.cuda.memory_allocated()`` / ``torch.cuda.memory_reserved()`` on cuda, and missing (NaN) on cpu.

Use it as a context manager; the samples come back as a pandas DataFrame::

    with ResourceMonitor("cuda", interval=0.1) as monitor:
        train()
    frame = monitor.frame()
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd
import psutil
import torch

#: Column order of :meth:`ResourceMonitor.frame`.
COLUMNS = ("time_s", "cpu_percent", "rss_bytes", "device_allocated_bytes", "device_reserved_bytes")

#: What each device's two allocator columns are read from (documentation and the chapter's plot labels).
DEVICE_SOURCES = {
    "mps": ("torch.mps.current_allocated_memory()", "torch.mps.driver_allocated_memory()"),
    "cuda": ("torch.cuda.memory_allocated()", "torch.cuda.memory_reserved()"),
}


@dataclass(frozen=True)
class Sample:
    """One row of the monitor's record."""

    time_s: float
    cpu_percent: float
    rss_bytes: int
    device_allocated_bytes: float
    device_reserved_bytes: float


def device_memory_reader(device: torch.device | str) -> Callable[[], tuple[float, float]]:
    """A function returning ``(allocated, reserved)`` bytes for ``device``; NaN for both on the CPU."""
    device = torch.device(device)
    if device.type == "mps":
        return lambda: (float(torch.mps.current_allocated_memory()), float(torch.mps.driver_allocated_memory()))
    if device.type == "cuda":
        return lambda: (float(torch.cuda.memory_allocated(device)), float(torch.cuda.memory_reserved(device)))
    if device.type == "cpu":
        return lambda: (math.nan, math.nan)
    raise ValueError(f"Unsupported device {str(device)!r}: use mps, cuda or cpu.")


class ResourceMonitor:
    """Sample CPU %, RSS and the device allocator every ``interval`` seconds in a background thread.

    ``start()`` primes ``cpu_percent`` and takes a first sample (its ``cpu_percent`` is NaN: it covers no
    time); ``stop()`` takes a last one, ends the
    thread and waits for it. Both are idempotent within one run, and ``with ResourceMonitor(...)`` calls
    them for you. A monitor can be started again; each start begins a new record.
    """

    def __init__(
        self,
        device: torch.device | str = "cpu",
        interval: float = 0.1,
        *,
        process: psutil.Process | None = None,
    ) -> None:
        if not (isinstance(interval, int | float) and interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}.")
        self.device = torch.device(device)
        self.interval = float(interval)
        self._read_device = device_memory_reader(self.device)
        self._process = process or psutil.Process()  # one object for every sample: see the module docstring
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> ResourceMonitor:
        """Begin a new record and start sampling; raises ``RuntimeError`` if already running."""
        if self.running:
            raise RuntimeError("ResourceMonitor is already running: call stop() first.")
        with self._lock:
            self._samples = []
        self._stop.clear()
        self._process.cpu_percent(None)  # prime: the first call has nothing to compare with and returns 0.0
        self._t0 = time.perf_counter()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._loop, name="ResourceMonitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> pd.DataFrame:
        """Stop sampling, wait for the thread, and return :meth:`frame`. Safe to call twice."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            thread.join()
            self._thread = None
            self._sample()  # the state at the moment of stopping
        return self.frame()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> ResourceMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- sampling ---------------------------------------------------------------------------------
    def _sample(self, first: bool = False) -> None:
        allocated, reserved = self._read_device()
        sample = Sample(
            time_s=time.perf_counter() - self._t0,
            # the first row covers no time since priming: its CPU share is undefined, not 0
            cpu_percent=math.nan if first else self._process.cpu_percent(None),
            rss_bytes=self._process.memory_info().rss,
            device_allocated_bytes=allocated,
            device_reserved_bytes=reserved,
        )
        with self._lock:
            self._samples.append(sample)

    def _loop(self) -> None:
        deadline = time.perf_counter()
        while True:
            deadline += self.interval  # a fixed grid: a slow sample does not shift the ones after it
            if self._stop.wait(max(0.0, deadline - time.perf_counter())):
                return
            self._sample()

    # -- results ----------------------------------------------------------------------------------
    @property
    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def frame(self) -> pd.DataFrame:
        """The record so far: one row per sample, columns :data:`COLUMNS`."""
        rows = [asdict(s) for s in self.samples]
        return pd.DataFrame(rows, columns=list(COLUMNS))
