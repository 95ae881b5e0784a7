import pytest
import torch

from mpsbook import consistently_slower, spread, time_callable


def test_time_callable_measures_and_warms_up():
    calls = []

    def work():
        calls.append(1)
        return torch.ones(64, 64) @ torch.ones(64, 64)

    m = time_callable(work, "cpu", min_run_time=0.05, description="matmul")
    assert m.median > 0
    assert m.description == "matmul"
    assert len(calls) > m.number_per_run  # the warm-up call comes on top of the timed ones


def test_time_callable_keeps_all_cpu_threads():
    m = time_callable(lambda: None, "cpu", min_run_time=0.01)
    assert m.task_spec.num_threads == torch.get_num_threads()


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_time_callable_rejects_bad_run_time(bad):
    with pytest.raises(ValueError, match="min_run_time must be a positive number of seconds"):
        time_callable(lambda: None, "cpu", min_run_time=bad)


def test_time_callable_times_at_least_min_blocks_of_a_slow_call():
    import time

    # 40 ms a call with 0.05 s of timing: blocked_autorange alone times one or two blocks
    m = time_callable(lambda: time.sleep(0.04), "cpu", min_run_time=0.05, min_blocks=5)
    assert len(m.times) >= 5
    assert 0.035 < m.median < 0.2


@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_time_callable_rejects_bad_min_blocks(bad):
    with pytest.raises(ValueError, match="min_blocks must be a whole number"):
        time_callable(lambda: None, "cpu", min_run_time=0.01, min_blocks=bad)


def test_spread_reads_milliseconds_and_hides_an_iqr_of_too_few_blocks():
    import math

    from torch.utils.benchmark import Measurement
    from torch.utils.benchmark.utils.common import TaskSpec

    spec = TaskSpec(stmt="x", setup="", num_threads=1)
    four = spread(Measurement(1, [0.001, 0.002, 0.003, 0.004], spec))
    assert four["median ms"] == pytest.approx(2.5)
    assert four["IQR ms"] == pytest.approx(1.5)
    assert four["timed blocks"] == 4
    three = spread(Measurement(1, [0.001, 0.002, 0.003], spec))
    assert math.isnan(three["IQR ms"])


def test_consistently_slower_compares_within_rounds():
    rounds = {"a": [1.0, 5.0, 1.0, 1.0], "b": [1.2, 6.0, 1.2, 1.2], "c": [1.05, 5.1, 1.0, 1.04]}
    assert consistently_slower(rounds) == ["b"]  # 20 % slower in every round; c within 10 %
    # one round in four where b is not slower: 75 % < 90 % of the rounds
    assert consistently_slower({"a": [1.0, 1.0, 1.0, 1.3], "b": [1.2, 1.2, 1.2, 1.2]}) == []
    assert consistently_slower({"a": [1.0, 1.0, 1.0, 1.3], "b": [1.2, 1.2, 1.2, 1.2]}, share=0.75) == ["b"]


def test_consistently_slower_accepts_a_dataframe():
    import pandas as pd

    frame = pd.DataFrame({"fast": [1.0, 2.0], "slow": [3.0, 4.0]})
    assert consistently_slower(frame) == ["slow"]


@pytest.mark.parametrize(
    ("rounds", "kwargs", "message"),
    [
        ({}, {}, "at least one variant"),
        ({"a": [1.0], "b": [1.0, 2.0]}, {}, "same number of rounds"),
        ({"a": []}, {}, "same number of rounds"),
        ({"a": [1.0]}, {"share": 0}, "margin must be >= 0"),
        ({"a": [1.0]}, {"margin": -0.1}, "margin must be >= 0"),
    ],
)
def test_consistently_slower_rejects_bad_input(rounds, kwargs, message):
    with pytest.raises(ValueError, match=message):
        consistently_slower(rounds, **kwargs)
