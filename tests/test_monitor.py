"""mpsbook.monitor: one psutil.Process, a fixed interval, a clean stop, a DataFrame."""

from __future__ import annotations

import math
import time

import psutil
import pytest
import torch

from mpsbook.monitor import COLUMNS, ResourceMonitor, device_memory_reader


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    x = torch.rand(128, 128)
    while time.perf_counter() < end:
        x = (x @ x).tanh()


def test_a_fresh_process_object_always_reports_zero_cpu():
    # The guide's bug, pinned: psutil compares with the previous call on the same object.
    readings = []
    for _ in range(3):
        busy(0.05)
        readings.append(psutil.Process().cpu_percent())
    assert readings == [0.0, 0.0, 0.0]


def test_samples_cpu_rss_and_stops_cleanly():
    with ResourceMonitor("cpu", interval=0.02) as monitor:
        busy(0.4)
    frame = monitor.frame()
    assert list(frame.columns) == list(COLUMNS)
    assert not monitor.running
    assert len(frame) >= 5
    assert math.isnan(frame["cpu_percent"].iloc[0])  # the first row covers no time
    assert frame["cpu_percent"].iloc[1:].max() > 0  # unlike the guide's monitor
    assert (frame["rss_bytes"] > 0).all()
    assert frame["time_s"].is_monotonic_increasing
    assert frame["device_allocated_bytes"].isna().all()  # no device allocator on the cpu


def test_interval_is_a_fixed_grid():
    monitor = ResourceMonitor("cpu", interval=0.05).start()
    time.sleep(0.5)
    frame = monitor.stop()
    gaps = frame["time_s"].diff().iloc[1:-1]  # the last row is the stop sample
    assert len(gaps) >= 5
    assert gaps.median() == pytest.approx(0.05, abs=0.03)


def test_stop_is_idempotent_and_restart_begins_a_new_record():
    monitor = ResourceMonitor("cpu", interval=0.01)
    monitor.start()
    time.sleep(0.05)
    first = monitor.stop()
    again = monitor.stop()
    assert len(again) == len(first)
    monitor.start()
    assert monitor.running
    with pytest.raises(RuntimeError, match="already running"):
        monitor.start()
    second = monitor.stop()
    assert second["time_s"].iloc[0] < first["time_s"].iloc[-1]


def test_stop_returns_promptly_with_a_long_interval():
    monitor = ResourceMonitor("cpu", interval=30).start()
    t = time.perf_counter()
    monitor.stop()
    assert time.perf_counter() - t < 1.0


def test_stop_runs_when_the_body_raises():
    monitor = ResourceMonitor("cpu", interval=0.01)
    with pytest.raises(ZeroDivisionError), monitor:
        1 / 0  # noqa: B018
    assert not monitor.running


@pytest.mark.parametrize("interval", [0, -1, float("nan"), "0.1", None])
def test_bad_interval_is_one_clear_error(interval):
    with pytest.raises(ValueError, match="interval must be a positive number"):
        ResourceMonitor("cpu", interval=interval)


def test_unknown_device_type_is_rejected():
    with pytest.raises(ValueError, match="use mps, cuda or cpu"):
        device_memory_reader("meta")


@pytest.mark.parametrize(
    "device",
    [
        pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs cuda")),
        pytest.param("mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="needs mps")),
    ],
)
def test_device_allocator_is_sampled(device):
    with ResourceMonitor(device, interval=0.01) as monitor:
        x = torch.empty(2**24, device=device)
        time.sleep(0.05)
        del x
    assert monitor.frame()["device_allocated_bytes"].max() >= 2**26
