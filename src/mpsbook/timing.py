"""Timing work on any device with ``torch.utils.benchmark``.

Since torch 2.9 (pytorch/pytorch#157131) ``Timer``'s default clock calls
``torch.accelerator.synchronize()``, so queued MPS and CUDA kernels are counted; before that it
synchronised CUDA only. Two defaults still mislead in a book that compares devices: ``Timer``
runs the statement with **one** CPU thread, and it does not warm up. :func:`time_callable` fixes
both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from mpsbook.device import synchronize

# With a CUDA toolkit but no GPU, importing torch.utils.benchmark logs "No CUDA runtime is found"
# to stderr; the line would differ between machines and says nothing about the device in use.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

from torch.utils.benchmark import Measurement, Timer  # noqa: E402  (after silencing the logger)

__all__ = ["Measurement", "time_callable"]


def time_callable(
    fn: Callable[[], object],
    device: torch.device | str,
    *,
    min_run_time: float = 0.2,
    label: str = "",
    sub_label: str = "",
    description: str = "",
) -> Measurement:
    """Time ``fn()`` on ``device``: one warm-up call, then ``Timer.blocked_autorange``.

    The CPU keeps all the threads torch would use outside the timer.
    """
    if not min_run_time > 0:
        raise ValueError(f"min_run_time must be a positive number of seconds, got {min_run_time!r}.")
    fn()  # warm-up: the first call pays for allocation, kernel selection and compilation
    synchronize(device)
    timer = Timer(
        stmt="fn()",
        globals={"fn": fn},
        num_threads=torch.get_num_threads(),
        label=label,
        sub_label=sub_label,
        description=description,
    )
    return timer.blocked_autorange(min_run_time=min_run_time)
