import pytest
import torch

import mpsbook
from mpsbook.device import DeviceError, available_devices, check_torch_version, resolve_device, synchronize


def fake_backends(monkeypatch, *, mps: bool, cuda: bool, cuda_count: int = 1) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_count if cuda else 0)


@pytest.mark.parametrize(
    ("mps", "cuda", "expected"),
    [(True, True, "mps"), (True, False, "mps"), (False, True, "cuda"), (False, False, "cpu")],
)
def test_auto_prefers_mps_then_cuda_then_cpu(monkeypatch, mps, cuda, expected):
    fake_backends(monkeypatch, mps=mps, cuda=cuda)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device(" AUTO ") == torch.device(expected)


def test_available_devices_lists_cpu_last(monkeypatch):
    fake_backends(monkeypatch, mps=False, cuda=True)
    assert available_devices() == ["cuda", "cpu"]


def test_explicit_available_device(monkeypatch):
    fake_backends(monkeypatch, mps=False, cuda=True, cuda_count=2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_unavailable_device_names_what_is_available(monkeypatch):
    fake_backends(monkeypatch, mps=False, cuda=False)
    with pytest.raises(DeviceError) as err:
        resolve_device("mps")
    assert str(err.value) == "Device 'mps' is not available on this machine: use one of auto, cpu."


@pytest.mark.parametrize("name", ["tpu", "gpu", "", "cuda:x", "xla"])
def test_unknown_device_is_one_sentence(monkeypatch, name):
    fake_backends(monkeypatch, mps=False, cuda=True)
    with pytest.raises(DeviceError) as err:
        resolve_device(name)
    message = str(err.value)
    assert message == f"Unknown device {name!r}: use one of auto, cuda, cpu."
    assert "\n" not in message


def test_cuda_index_out_of_range(monkeypatch):
    fake_backends(monkeypatch, mps=False, cuda=True, cuda_count=1)
    with pytest.raises(DeviceError, match="has 1 CUDA device"):
        resolve_device("cuda:3")


def test_device_error_is_a_value_error():
    assert issubclass(DeviceError, ValueError)


def test_torch_version_check():
    assert check_torch_version("2.14.1+cu130") == "2.14.1+cu130"
    assert check_torch_version("2.11.0") == "2.11.0"
    with pytest.raises(RuntimeError, match=r"needs torch >= 2\.11, but torch 2\.10\.0 is installed"):
        check_torch_version("2.10.0")
    assert check_torch_version() == torch.__version__  # the installed one passes


def test_synchronize_on_cpu_is_a_noop():
    synchronize("cpu")
    synchronize(torch.device("cpu"))


def test_synchronize_calls_the_right_backend(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(("cuda", device)))
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(("mps", None)))
    synchronize("cuda:0")
    synchronize("mps")
    assert calls == [("cuda", torch.device("cuda:0")), ("mps", None)]


def test_public_names():
    for name in mpsbook.__all__:
        assert hasattr(mpsbook, name), name
