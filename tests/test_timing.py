import pytest
import torch

from mpsbook import time_callable


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
