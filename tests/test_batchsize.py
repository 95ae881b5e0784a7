import pytest
import torch

from mpsbook.batchsize import AllocatorPeak, find_batch_size, is_out_of_memory

MPS_OOM = (  # as PyTorch 2.14 prints it (GiB); older releases printed "GB" for the same binary units
    "MPS backend out of memory (MPS allocated: 18.50 GiB, other allocations: 448.00 KiB, max allowed: 18.72 GiB). "
    "Tried to allocate 512.00 MiB on shared pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper "
    "limit for memory allocations (may cause system failure)."
)
MPS_OOM_OLD = (
    "MPS backend out of memory (MPS allocated: 8.93 GB, other allocations: 120.39 MB, max allowed: 9.07 GB). "
    "Tried to allocate 25.00 MB on private pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper "
    "limit for memory allocations (may cause system failure)."
)


class FakeStep:
    """A step that runs out of memory above ``threshold``, like a device would."""

    def __init__(self, threshold: int, error: type[Exception] = torch.OutOfMemoryError, message: str = "CUDA oom"):
        self.threshold, self.error, self.message = threshold, error, message
        self.calls: list[int] = []

    def __call__(self, batch_size: int) -> None:
        self.calls.append(batch_size)
        if batch_size > self.threshold:
            raise self.error(self.message)


class FakeMeter(AllocatorPeak):
    """An allocator that reports 1 MiB per sample of the last step."""

    def __init__(self, step: FakeStep):
        super().__init__("cpu")
        self.step = step

    def peak(self) -> int:
        return self.step.calls[-1] * 2**20 if self.step.calls else 0


def test_recognises_out_of_memory_errors_only():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(RuntimeError(MPS_OOM))
    assert is_out_of_memory(RuntimeError(MPS_OOM_OLD))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be reported later"))
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 4x3)"))
    assert not is_out_of_memory(ValueError("CUDA out of memory"))


@pytest.mark.parametrize("threshold", [1, 5, 37, 64, 100, 1000])
def test_finds_the_largest_size_that_fits(threshold):
    step = FakeStep(threshold)
    result = find_batch_size(step, "cpu", limit=512)
    assert result.batch_size == min(threshold, 512)
    assert all(p.fits == (p.batch_size <= threshold) for p in result.probes)


def test_recovers_from_mps_style_errors():
    step = FakeStep(20, RuntimeError, MPS_OOM)
    result = find_batch_size(step, "cpu")
    assert result.batch_size == 20
    assert {p.reason for p in result.probes} == {"fits", "out of memory"}


def test_other_errors_propagate():
    step = FakeStep(3, RuntimeError, "mat1 and mat2 shapes cannot be multiplied")
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        find_batch_size(step, "cpu")


def test_nothing_fits():
    result = find_batch_size(FakeStep(0), "cpu", start=8)
    assert result.batch_size == 0
    assert [p.batch_size for p in result.probes] == [8, 4, 2, 1]


def test_budget_with_a_meter():
    step = FakeStep(10_000)
    result = find_batch_size(step, "cpu", budget_bytes=48 * 2**20, meter=FakeMeter(step))
    assert result.batch_size == 48
    assert any(p.reason == "over budget" for p in result.probes)


def test_a_budget_search_brackets_its_answer():
    """The found size fits the budget, and the next multiple of the granularity was tried and did not."""
    step = FakeStep(10_000)
    budget = 1000 * 2**20
    result = find_batch_size(step, "cpu", start=64, limit=2**16, granularity=64, budget_bytes=budget,
                             meter=FakeMeter(step))
    assert result.batch_size == 960
    assert all(p.bytes <= budget for p in result.probes if p.fits)
    next_up = [p for p in result.probes if p.batch_size == result.batch_size + 64]
    assert len(next_up) == 1 and not next_up[0].fits and next_up[0].reason == "over budget"


def test_an_out_of_memory_search_brackets_its_answer():
    step = FakeStep(700, RuntimeError, "MPS backend out of memory (MPS allocated: 1.00 GiB, ...)")
    result = find_batch_size(step, "cpu", start=64, limit=2**20, granularity=64)
    assert result.batch_size == 640
    assert [p.reason for p in result.probes if p.batch_size == 704] == ["out of memory"]


def test_budget_with_an_estimate():
    step = FakeStep(10_000)
    result = find_batch_size(step, "cpu", budget_bytes=1000, estimate=lambda n: 30 * n)
    assert result.batch_size == 33
    assert max(step.calls) == 33, "sizes the estimate rules out are not run"


def test_cpu_budget_needs_an_estimate():
    with pytest.raises(ValueError, match="pass estimate="):
        find_batch_size(FakeStep(10), "cpu", budget_bytes=2**20)


def test_granularity_tries_only_multiples():
    step = FakeStep(100)
    result = find_batch_size(step, "cpu", start=8, limit=512, granularity=8)
    assert result.batch_size == 96
    assert all(p.batch_size % 8 == 0 for p in result.probes)


@pytest.mark.parametrize(
    "kwargs",
    [{"start": 0}, {"start": 8, "limit": 4}, {"budget_bytes": 0}, {"granularity": 3}, {"granularity": 0}],
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        find_batch_size(FakeStep(10), "cpu", **kwargs)


def test_rows_for_a_table():
    result = find_batch_size(FakeStep(3), "cpu", limit=8)
    assert result.rows()[0] == {"batch size": 1, "fits": True, "MiB": None, "reason": "fits"}


def test_a_real_training_step_on_the_cpu():
    model = torch.nn.Linear(8, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(batch_size: int) -> None:
        x, y = torch.randn(batch_size, 8), torch.randint(0, 2, (batch_size,))
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    per_sample = 8 * 4 * 3  # a rough estimate: input, activations and gradients of 8 float32 values
    result = find_batch_size(step, "cpu", limit=256, budget_bytes=64 * per_sample, estimate=lambda n: n * per_sample)
    assert result.batch_size == 64


def test_baseline_from_the_estimate():
    result = find_batch_size(FakeStep(10_000), "cpu", budget_bytes=1000, estimate=lambda n: 100 + 30 * n)
    assert result.baseline_bytes == 100


def test_baseline_from_the_meter():
    class Held(FakeMeter):
        def current(self) -> int:
            return 5 * 2**20

    step = FakeStep(10_000)
    result = find_batch_size(step, "cpu", budget_bytes=48 * 2**20, meter=Held(step))
    assert result.baseline_bytes == 5 * 2**20
    assert find_batch_size(FakeStep(3), "cpu", limit=8).baseline_bytes is None, "the cpu allocator keeps no figures"


def test_mps_peak_uses_the_accelerator_counter(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.accelerator, "reset_peak_memory_stats", lambda *a: calls.append("reset"))
    monkeypatch.setattr(torch.accelerator, "max_memory_allocated", lambda *a: 77)
    monkeypatch.setattr(torch.mps, "current_allocated_memory", lambda: 5)
    meter = AllocatorPeak("mps")
    meter.reset()
    assert calls == ["reset"] and meter.peak() == 77 and meter.current() == 5


def test_mps_peak_falls_back_to_driver_memory(monkeypatch):
    def refuse(*args):
        raise RuntimeError("Allocator for mps is not a DeviceAllocator.")

    monkeypatch.setattr(torch.accelerator, "reset_peak_memory_stats", refuse)
    monkeypatch.setattr(torch.accelerator, "max_memory_allocated", refuse)
    monkeypatch.setattr(torch.mps, "driver_allocated_memory", lambda: 123)
    meter = AllocatorPeak("mps")
    meter.reset()
    assert meter.peak() == 123
