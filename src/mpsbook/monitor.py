"""A background monitor that samples a process's CPU and memory and the device allocator's figures.

The guide's monitor (section 10.3) builds a new ``psutil.Process()`` for every sample. psutil measures
CPU use *between two calls on the same object*, and the first call on a new object has nothing to compare
with, so it returns ``0.0`` — every sample the guide records is zero. :class:`ResourceMonitor` keeps one
``Process`` for its whole life, primes it once, and then samples at a fixed interval in a thread:

- ``cpu_percent``: the process's CPU use since the previous sample (100 = one core busy; can exceed 100),
- ``cpu_seconds``: the process's CPU time so far (user + system), the counter ``cpu_percent`` is computed from;
  its differences give the CPU use over any longer window (see :func:`cpu_percent_by_window`),
- ``system_busy_seconds``: CPU seconds the whole machine's logical cores have been busy since boot (every
  process, psutil's ``cpu_times()`` less idle time): beside ``cpu_seconds`` it shows whether other processes
  took the cores the job could have used,
- ``rss_bytes``: the process's resident set size,
- ``device_allocated_bytes`` and ``device_reserved_bytes``: what the device's caching allocator reports, bytes
  held by live tensors and bytes it holds in all (tensors and cache), read with the same calls on cuda and mps —
  ``torch.accelerator.memory_allocated()`` / ``memory_reserved()``, which cover mps since torch 2.14 —
  and missing (NaN) on cpu,
- ``device_driver_bytes`` (mps only, NaN elsewhere): ``torch.mps.driver_allocated_memory()``, everything Metal
  has allocated for the process, the allocator's heaps and the MPS/MPSGraph frameworks' own buffers included.

Use it as a context manager; the samples come back as a pandas DataFrame::

    with ResourceMonitor("cuda", interval=0.1) as monitor:
        train()
    frame = monitor.frame()

A sample is a moment: an activation that lives for a few milliseconds between two samples is missed. On cuda
and mps the monitor therefore also resets the allocator's peak counters when it starts and reads them when it
stops (:attr:`ResourceMonitor.peaks`) — which resets them for any other code in the process that reads them.

:func:`swap_reading` reads the whole system's swap before and after a run. On macOS psutil's ``sin`` and
``sout`` are the kernel's page-ins and page-outs (every page read from or written to disk, files included),
not swap traffic, so there it reads ``vm_stat``'s ``Swapouts`` instead.
"""

from __future__ import annotations

import math
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import psutil
import torch

#: Column order of :meth:`ResourceMonitor.frame`.
COLUMNS = (
    "time_s", "cpu_percent", "cpu_seconds", "system_busy_seconds", "rss_bytes",
    "device_allocated_bytes", "device_reserved_bytes", "device_driver_bytes",
)

_ALLOCATOR = {
    "device_allocated_bytes": "torch.accelerator.memory_allocated()",
    "device_reserved_bytes": "torch.accelerator.memory_reserved()",
}
#: The device columns each device fills, and the call each is read from (documentation and plot labels).
DEVICE_SOURCES: dict[str, dict[str, str]] = {
    "mps": {**_ALLOCATOR, "device_driver_bytes": "torch.mps.driver_allocated_memory()"},
    "cuda": dict(_ALLOCATOR),
}


@dataclass(frozen=True)
class Sample:
    """One row of the monitor's record."""

    time_s: float
    cpu_percent: float
    cpu_seconds: float
    system_busy_seconds: float
    rss_bytes: int
    device_allocated_bytes: float
    device_reserved_bytes: float
    device_driver_bytes: float


@dataclass(frozen=True)
class DevicePeaks:
    """The allocator's own peaks over one monitored run: exact, unlike the largest sample (NaN on the cpu)."""

    allocated_bytes: float  #: ``torch.accelerator.max_memory_allocated()``
    reserved_bytes: float  #: ``torch.accelerator.max_memory_reserved()``


def system_busy_seconds() -> float:
    """CPU seconds all logical cores have spent busy since boot, counted as psutil counts for ``cpu_percent()``.

    Busy is everything but idle (and I/O wait); on Linux the guest times are left out because the kernel
    already counts them in user time, and time taken by the hypervisor (steal) counts as busy.
    """
    times = psutil.cpu_times()
    total = sum(times)
    if psutil.LINUX:
        total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0)


def _check_device(device: torch.device | str) -> torch.device:
    device = torch.device(device)
    if device.type not in ("mps", "cuda", "cpu"):
        raise ValueError(f"Unsupported device {str(device)!r}: use mps, cuda or cpu.")
    return device


def _has_accelerator_memory(device: torch.device) -> bool:
    """Whether ``torch.accelerator``'s memory calls serve ``device``: not on the cpu, nor on mps before torch 2.14,
    whose MPS allocator was not yet a ``c10::DeviceAllocator``."""
    if device.type != "mps":
        return device.type == "cuda"
    try:
        torch.accelerator.memory_allocated(device)
    except (RuntimeError, AttributeError):
        return False
    return True


def device_memory_reader(device: torch.device | str) -> Callable[[], tuple[float, float, float]]:
    """A function returning ``(allocated, reserved, driver)`` bytes for ``device`` (see :data:`DEVICE_SOURCES`).

    ``driver`` is NaN except on mps; all three are NaN on the cpu, which has no device allocator. On mps with a
    torch older than 2.14, ``allocated`` comes from ``torch.mps.current_allocated_memory()`` and ``reserved`` is NaN.
    """
    device = _check_device(device)
    if device.type == "cpu":
        return lambda: (math.nan, math.nan, math.nan)
    unified = _has_accelerator_memory(device)

    def read() -> tuple[float, float, float]:
        driver = float(torch.mps.driver_allocated_memory()) if device.type == "mps" else math.nan
        if not unified:
            return float(torch.mps.current_allocated_memory()), math.nan, driver
        return (float(torch.accelerator.memory_allocated(device)), float(torch.accelerator.memory_reserved(device)),
                driver)

    return read


def reset_device_peaks(device: torch.device | str) -> None:
    """Reset the allocator's peak counters of ``device`` (nothing to do where there are none)."""
    device = _check_device(device)
    if _has_accelerator_memory(device):
        torch.accelerator.reset_peak_memory_stats(device)


def device_peaks(device: torch.device | str) -> DevicePeaks:
    """The allocator's peaks of ``device`` since the last reset or the start of the process (NaN where none)."""
    device = _check_device(device)
    if not _has_accelerator_memory(device):
        return DevicePeaks(math.nan, math.nan)
    return DevicePeaks(float(torch.accelerator.max_memory_allocated(device)),
                       float(torch.accelerator.max_memory_reserved(device)))


class ResourceMonitor:
    """Sample CPU %, RSS and the device allocator every ``interval`` seconds in a background thread.

    ``start()`` primes ``cpu_percent``, resets the device allocator's peak counters and takes a first sample (its
    ``cpu_percent`` is NaN: it covers no time); ``stop()`` takes a last one, reads the peaks into :attr:`peaks`,
    ends the thread and waits for it. Both are idempotent within one run, and ``with ResourceMonitor(...)`` calls
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
        self.peaks = DevicePeaks(math.nan, math.nan)  #: the allocator's peaks over the last run, set by stop()

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> ResourceMonitor:
        """Begin a new record and start sampling; raises ``RuntimeError`` if already running."""
        if self.running:
            raise RuntimeError("ResourceMonitor is already running: call stop() first.")
        with self._lock:
            self._samples = []
        self._stop.clear()
        self._process.cpu_percent(None)  # prime: the first call has nothing to compare with and returns 0.0
        reset_device_peaks(self.device)
        self.peaks = DevicePeaks(math.nan, math.nan)
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
            self.peaks = device_peaks(self.device)
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
        allocated, reserved, driver = self._read_device()
        times = self._process.cpu_times()
        sample = Sample(
            time_s=time.perf_counter() - self._t0,
            # the first row covers no time since priming: its CPU share is undefined, not 0
            cpu_percent=math.nan if first else self._process.cpu_percent(None),
            cpu_seconds=times.user + times.system,
            system_busy_seconds=system_busy_seconds(),
            rss_bytes=self._process.memory_info().rss,
            device_allocated_bytes=allocated,
            device_reserved_bytes=reserved,
            device_driver_bytes=driver,
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


def _check_window(window: float) -> None:
    """Refuse a window that is not a positive, finite number of seconds (both window functions accept the same)."""
    if not (isinstance(window, int | float) and window > 0 and math.isfinite(window)):
        raise ValueError(f"window must be a positive number of seconds, got {window!r}.")


def cpu_percent_over(frame: pd.DataFrame, window: float) -> pd.Series:
    """CPU % of the process over the ``window`` seconds that end at each sample (NaN until a window fits).

    A rolling figure: neighbouring values share most of their window, so they are not independent samples
    (for statistics over the run use :func:`cpu_percent_by_window`).

    Computed from the ``cpu_seconds`` counter, so it is exact over the window whatever the sampling interval:
    ``100 * (cpu_seconds[i] - cpu_seconds[j]) / (time_s[i] - time_s[j])`` with ``j`` the last sample at least
    ``window`` seconds before ``i``.
    """
    _check_window(window)
    t = frame["time_s"].to_numpy(dtype=float)
    cpu = frame["cpu_seconds"].to_numpy(dtype=float)
    out = []
    for i, now in enumerate(t):
        # the last sample at least `window` earlier (1 ns of slack for float rounding of the times)
        j = int(np.searchsorted(t, now - window + 1e-9, side="right")) - 1
        out.append(100.0 * (cpu[i] - cpu[j]) / (now - t[j]) if j >= 0 and now > t[j] else math.nan)
    return pd.Series(out, index=frame.index, name=f"cpu_percent_{window:g}s")


def cpu_percent_by_window(frame: pd.DataFrame, window: float, counter: str = "cpu_seconds") -> pd.DataFrame:
    """CPU % over consecutive, non-overlapping windows of at least ``window`` seconds, from a CPU-time counter.

    Each window runs from one sample to the first sample at least ``window`` seconds later, and the next window
    starts where it ended, so every CPU second is counted once. Returns columns ``start_s``, ``end_s`` and
    ``cpu_percent`` (100 = one core busy; the ``system_busy_seconds`` counter gives the whole machine in the
    same unit). A record shorter than one window gives no rows.
    """
    _check_window(window)
    t = frame["time_s"].to_numpy(dtype=float)
    cpu = frame[counter].to_numpy(dtype=float)
    rows, j = [], 0
    for i in range(1, len(t)):
        if t[i] - t[j] >= window - 1e-9:  # 1 ns of slack for float rounding of the times
            rows.append((t[j], t[i], 100.0 * (cpu[i] - cpu[j]) / (t[i] - t[j])))
            j = i
    return pd.DataFrame(rows, columns=["start_s", "end_s", "cpu_percent"])


@dataclass(frozen=True)
class SwapReading:
    """The whole system's swap at one moment."""

    used_bytes: int  #: swap in use (``psutil.swap_memory().used``: ``sysctl vm.swapusage`` on macOS)
    swapped_out_bytes: float  #: bytes swapped out since boot; NaN where no counter is known
    source: str  #: where ``swapped_out_bytes`` comes from


def parse_vm_stat(text: str) -> dict[str, int]:
    """``vm_stat``'s counters by name (in pages), and ``page_size`` in bytes from its header line."""
    counters = {name: int(value) for name, value in re.findall(r'^"?([^":\n]+?)"?:\s+(\d+)\.?\s*$', text, re.M)}
    size = re.search(r"page size of (\d+) bytes", text)
    if size:
        counters["page_size"] = int(size.group(1))
    return counters


def _vm_stat_text() -> str:
    return subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=10).stdout


def swap_reading() -> SwapReading:
    """Swap in use and swapped out since boot, each read where it means swap.

    Linux: psutil's ``sout`` (``pswpout`` of ``/proc/vmstat``). macOS: ``vm_stat``'s ``Swapouts`` times its page
    size, because psutil's ``sout`` there is page-outs. Elsewhere the swapped-out figure is NaN.
    """
    swap = psutil.swap_memory()
    if psutil.MACOS:
        counters = parse_vm_stat(_vm_stat_text())
        if "Swapouts" in counters and "page_size" in counters:
            return SwapReading(swap.used, float(counters["Swapouts"] * counters["page_size"]), "vm_stat Swapouts")
        return SwapReading(swap.used, math.nan, "vm_stat printed no Swapouts")
    if psutil.LINUX:
        return SwapReading(swap.used, float(swap.sout), "psutil.swap_memory().sout")
    return SwapReading(swap.used, math.nan, "no swap-out counter known on this system")
