"""The noise margin, the verdict and the crossover of chapter 10 (mpsbook.bench.verdict)."""

from types import SimpleNamespace

import pandas as pd
import pytest

from mpsbook.bench.verdict import (
    at_floor,
    compare,
    crossing_row,
    crossover,
    crossover_sentence,
    crossover_text,
    noise,
)


def t(median: float, iqr: float, samples: int = 5) -> SimpleNamespace:
    return SimpleNamespace(median_s=median, iqr_s=iqr, samples=samples)


def frame(rows: dict[int, tuple[float, float, int]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=["median_s", "iqr_s", "samples"])


def test_noise_is_the_iqr_from_four_blocks_and_at_least_a_tenth_below():
    assert noise(t(1.0, 0.02, 4)) == 0.02
    assert noise(t(1.0, 0.02, 3)) == pytest.approx(0.1)
    assert noise(t(1.0, 0.3, 2)) == 0.3
    assert noise(t(1.0, float("nan"), 1)) == pytest.approx(0.1)


def test_compare_needs_both_margins_apart():
    assert compare(t(1.0, 0.1), t(1.5, 0.1)) == "faster"
    assert compare(t(1.5, 0.1), t(1.0, 0.1)) == "slower"
    assert compare(t(1.0, 0.2), t(1.3, 0.2)) == "within noise"  # 1.2 is not below 1.1
    assert compare(t(1.0, 0.0, 1), t(1.15, 0.0, 1)) == "within noise"  # one block each: 10 % floors
    assert compare(t(1.0, 0.001), t(1.03, 0.001)) == "within noise"  # tight IQRs, but a 3 % gap is no finding
    assert compare(t(1.0, 0.001), t(1.06, 0.001)) == "faster"


def test_crossover_is_the_size_from_which_every_larger_one_is_faster():
    cpu = frame({64: (1.0, 0.01, 5), 128: (2.0, 0.01, 5), 256: (4.0, 0.01, 5), 512: (8.0, 0.01, 5)})
    accel = frame({64: (2.0, 0.01, 5), 128: (1.0, 0.01, 5), 256: (4.0, 0.01, 5), 512: (1.0, 0.01, 5)})
    first, verdict = crossover(accel, cpu)
    assert first == 512
    assert list(verdict) == ["slower", "faster", "within noise", "faster"]
    assert crossover_text(first, list(verdict.index)) == "512"


def test_crossover_at_the_smallest_size_and_none():
    cpu = frame({64: (2.0, 0.01, 5), 128: (4.0, 0.01, 5)})
    fast = frame({64: (1.0, 0.01, 5), 128: (1.0, 0.01, 5)})
    first, verdict = crossover(fast, cpu)
    assert crossover_text(first, list(verdict.index)) == "≤ 64"
    first, verdict = crossover(cpu, fast)
    assert first == "none" and crossover_text(first, list(verdict.index)) == "none"
    assert crossover_text(1024, [1024, 4096], size=lambda n: f"2^{n.bit_length() - 1}") == "≤ 2^10"


def test_crossover_without_a_common_size_says_so():
    with pytest.raises(ValueError, match="share no size"):
        crossover(frame({64: (1.0, 0.0, 5)}), frame({128: (1.0, 0.0, 5)}))


def test_at_floor_is_the_flat_run_from_the_smallest_size():
    line = pd.DataFrame({"median_s": [2e-5, 1e-5, 1.4e-5, 9e-5, 1.2e-5]}, index=[64, 128, 256, 512, 1024])
    # the floor is the median up to the fastest size (1.5e-5): 64-256 sit within 1.5x of it; 512 rises above it,
    # so 1024 is not on the floor even though its time happens to be low (after the floor, a time is work)
    assert at_floor(line).tolist() == [True, True, True, False, False]
    assert at_floor(line.iloc[::-1]).tolist() == [False, False, True, True, True]  # follows the frame's order
    dip = pd.DataFrame({"median_s": [1.65e-5, 1.62e-5, 1.66e-5, 1.05e-5, 2e-4]}, index=[64, 128, 256, 512, 1024])
    assert at_floor(dip).tolist() == [True, True, True, True, False]  # one fast size does not lower the floor


def test_crossing_row_states_where_each_side_won():
    sizes = [64, 256, 1024, 4096]
    accel = pd.DataFrame({"median_s": [2e-5, 2e-5, 3e-5, 1e-3], "iqr_s": 1e-7, "samples": 5}, index=sizes)
    cpu = pd.DataFrame({"median_s": [1e-5, 2e-5, 2e-4, 6e-2], "iqr_s": 1e-7, "samples": 5}, index=sizes)
    row = crossing_row(accel, cpu, lambda n: f"2^{int(n).bit_length() - 1}")
    assert row == {"sizes": "2^6–2^12 (4)", "crossover": "2^10", "CPU faster": "2^6", "within noise": "2^8",
                   "accelerator at its floor": "2^6, 2^8", "speed-up at largest": "60 (60–60)"}
    # 2^10 (3e-5) is within 1.5x of the floor but 1.5x the size before it: its time follows the work


def test_crossover_sentence_says_where_the_device_wins_or_that_it_never_does():
    sizes = [64, 128, 256]
    assert crossover_sentence(128, sizes, "mps") == "n = 128"
    assert crossover_sentence(64, sizes, "mps") == "n ≤ 64: mps is faster from the sweep's smallest size"
    assert crossover_sentence("none", sizes, "cuda") == "none: cuda is not faster by the margin at n = 256"


def test_a_line_rising_steeply_past_its_fastest_size_has_left_its_floor():
    import pandas as pd

    from mpsbook.bench.verdict import at_floor

    # an H200-like 16-bit product line: flat at ~16 µs, then 25 µs at 2048 (about 680 TFLOP/s: arithmetic)
    line = pd.DataFrame({"median_s": [1.7e-5, 1.6e-5, 1.59e-5, 2.54e-5, 1.5e-4]}, index=[256, 512, 1024, 2048, 4096])
    assert at_floor(line).tolist() == [True, True, True, False, False]
