"""mpsbook.monitor: one psutil.Process, a fixed interval, a clean stop, a DataFrame."""

from __future__ import annotations

import math
import os
import time

import pandas as pd
import psutil
import pytest
import torch

from mpsbook import monitor as monitor_module
from mpsbook.monitor import (
    COLUMNS,
    DEVICE_SOURCES,
    ResourceMonitor,
    cpu_percent_by_window,
    cpu_percent_over,
    device_memory_reader,
    device_peaks,
    parse_vm_stat,
    reset_device_peaks,
    swap_reading,
    system_busy_seconds,
)


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
    assert frame["cpu_seconds"].is_monotonic_increasing  # a counter: never goes back
    assert frame["cpu_seconds"].iloc[-1] > frame["cpu_seconds"].iloc[0]
    device_columns = ["device_allocated_bytes", "device_reserved_bytes", "device_driver_bytes"]
    assert frame[device_columns].isna().all().all()  # no device allocator on the cpu
    assert math.isnan(monitor.peaks.allocated_bytes) and math.isnan(monitor.peaks.reserved_bytes)


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


@pytest.mark.parametrize("function", [device_memory_reader, reset_device_peaks, device_peaks])
def test_unknown_device_type_is_rejected(function):
    with pytest.raises(ValueError, match="use mps, cuda or cpu"):
        function("meta")


class FakeAllocator:
    """Stands in for torch.accelerator's memory calls and torch.mps's on a machine without mps."""

    def __init__(self, works: bool = True) -> None:
        self.works, self.resets = works, 0

    def check(self) -> None:
        if not self.works:  # what torch < 2.14 does on mps: its allocator is no DeviceAllocator
            raise RuntimeError("Allocator for MPS is not a DeviceAllocator.")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def figure(value: int):
            def read(device=None, /) -> int:
                self.check()
                return value
            return read

        def reset(device=None, /) -> None:
            self.check()
            self.resets += 1

        for name, value in {"memory_allocated": 1, "memory_reserved": 2, "max_memory_allocated": 10,
                            "max_memory_reserved": 20}.items():
            monkeypatch.setattr(torch.accelerator, name, figure(value))
        monkeypatch.setattr(torch.accelerator, "reset_peak_memory_stats", reset)
        monkeypatch.setattr(torch.mps, "driver_allocated_memory", lambda: 3)
        monkeypatch.setattr(torch.mps, "current_allocated_memory", lambda: 4)


def test_mps_reads_torch_accelerator_and_the_driver_figure(monkeypatch):
    fake = FakeAllocator()
    fake.install(monkeypatch)
    assert device_memory_reader("mps")() == (1.0, 2.0, 3.0)
    assert list(DEVICE_SOURCES["mps"]) == ["device_allocated_bytes", "device_reserved_bytes", "device_driver_bytes"]
    with ResourceMonitor("mps", interval=0.01) as monitor:
        assert fake.resets == 1  # the peaks are reset when the monitor starts ...
        time.sleep(0.03)
    frame = monitor.frame()
    assert (frame["device_reserved_bytes"] == 2).all() and (frame["device_driver_bytes"] == 3).all()
    assert (monitor.peaks.allocated_bytes, monitor.peaks.reserved_bytes) == (10.0, 20.0)  # ... and read at stop


def test_mps_before_torch_2_14_falls_back_to_torch_mps(monkeypatch):
    FakeAllocator(works=False).install(monkeypatch)
    allocated, reserved, driver = device_memory_reader("mps")()
    assert (allocated, driver) == (4.0, 3.0) and math.isnan(reserved)
    reset_device_peaks("mps")  # nothing to reset, and no error
    assert math.isnan(device_peaks("mps").allocated_bytes)


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
    assert monitor.peaks.allocated_bytes >= 2**26
    assert monitor.frame()["device_driver_bytes"].notna().all() == (device == "mps")


@pytest.mark.skipif(not psutil.LINUX, reason="Linux counts process CPU time in clock ticks")
def test_linux_cpu_time_moves_in_whole_clock_ticks():
    # Why short-interval CPU % samples jump in steps on Linux: the counter behind them has a 1/SC_CLK_TCK grain.
    with ResourceMonitor("cpu", interval=0.02) as monitor:
        busy(0.3)
    ticks = monitor.frame()["cpu_seconds"].diff().iloc[1:] * os.sysconf("SC_CLK_TCK")
    assert (ticks - ticks.round()).abs().max() < 1e-6


def test_cpu_percent_over_a_window_is_exact_on_a_known_record():
    frame = pd.DataFrame({"time_s": [0.0, 0.1, 0.2, 0.3, 0.4], "cpu_seconds": [0.0, 0.1, 0.1, 0.2, 0.4]})
    window = cpu_percent_over(frame, 0.2)
    assert window.iloc[:2].isna().all()  # no sample 0.2 s earlier yet
    assert window.iloc[2:].round(6).tolist() == [50.0, 50.0, 150.0]
    assert cpu_percent_over(frame, 0.1).iloc[1:].round(6).tolist() == [100.0, 0.0, 100.0, 200.0]


def test_cpu_percent_by_window_counts_every_second_once():
    frame = pd.DataFrame({"time_s": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], "cpu_seconds": [0.0, 0.1, 0.1, 0.2, 0.4, 0.4]})
    windows = cpu_percent_by_window(frame, 0.2)
    assert windows[["start_s", "end_s"]].round(6).values.tolist() == [[0.0, 0.2], [0.2, 0.4]]
    assert windows["cpu_percent"].round(6).tolist() == [50.0, 150.0]
    assert windows["start_s"].iloc[1:].tolist() == windows["end_s"].iloc[:-1].tolist()  # no overlap, no gap
    assert cpu_percent_by_window(frame, 1.0).empty  # the record is shorter than one window


@pytest.mark.parametrize("function", [cpu_percent_over, cpu_percent_by_window])
@pytest.mark.parametrize("window", [0, -0.5, float("inf"), "1"])
def test_window_functions_reject_a_bad_window(function, window):
    frame = pd.DataFrame({"time_s": [0.0], "cpu_seconds": [0.0]})
    with pytest.raises(ValueError, match="window must be a positive number"):
        function(frame, window)


def test_the_machine_counter_includes_this_process():
    with ResourceMonitor("cpu", interval=0.05) as monitor:
        busy(0.4)
    frame = monitor.frame()
    assert frame["system_busy_seconds"].is_monotonic_increasing
    process = frame["cpu_seconds"].iloc[-1] - frame["cpu_seconds"].iloc[0]
    machine = frame["system_busy_seconds"].iloc[-1] - frame["system_busy_seconds"].iloc[0]
    assert machine >= 0.8 * process  # the whole machine was at least as busy as this process (counter grain aside)
    assert system_busy_seconds() > 0


# vm_stat's layout on Apple silicon (16 KiB pages); Pageouts and Swapouts differ, which is the point.
VM_STAT = """Mach Virtual Memory Statistics: (page size of 16384 bytes)
Pages free:                                    36722.
"Translation faults":                     1246341712.
Pageins:                                    17945259.
Pageouts:                                     269001.
Swapins:                                          12.
Swapouts:                                         34.
"""


def test_parse_vm_stat_reads_counters_and_page_size():
    counters = parse_vm_stat(VM_STAT)
    assert counters["page_size"] == 16384
    assert counters["Swapouts"] == 34 and counters["Pageouts"] == 269001
    assert counters["Translation faults"] == 1246341712  # a quoted name
    assert parse_vm_stat("nonsense") == {}


def test_swap_reading_on_macos_counts_swapouts_not_pageouts(monkeypatch):
    monkeypatch.setattr(psutil, "MACOS", True)
    monkeypatch.setattr(psutil, "LINUX", False)
    monkeypatch.setattr(monitor_module, "_vm_stat_text", lambda: VM_STAT)
    reading = swap_reading()
    assert reading.swapped_out_bytes == 34 * 16384
    assert reading.source == "vm_stat Swapouts"
    monkeypatch.setattr(monitor_module, "_vm_stat_text", lambda: "")
    assert math.isnan(swap_reading().swapped_out_bytes)  # no counter: NaN, not 0


@pytest.mark.skipif(not psutil.LINUX, reason="psutil's sout is swap traffic on Linux")
def test_swap_reading_on_linux_is_psutils_sout():
    before = psutil.swap_memory().sout
    reading = swap_reading()
    assert before <= reading.swapped_out_bytes <= psutil.swap_memory().sout
    assert reading.used_bytes >= 0 and reading.source == "psutil.swap_memory().sout"
