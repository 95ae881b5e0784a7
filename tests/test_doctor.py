import io
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from mpsbook import doctor
from mpsbook.__main__ import main
from mpsbook.doctor import Facts, build_setting, check, problems, run_doctor

HEALTHY_MAC = Facts(
    system="Darwin",
    machine="arm64",
    translated=False,
    os_version="15.5",
    python_version="3.12.8",
    torch_version="2.11.0",
    mps_built=True,
    mps_available=True,
    cuda_version=None,
    cuda_available=False,
    blas="accelerate",
    cores={"logical": 10, "usable": None, "performance": 8, "efficiency": 2, "torch_threads": 8},
)


def verdict(facts: Facts) -> list[str]:
    return problems(check(facts))


def test_a_healthy_mac_passes():
    assert verdict(HEALTHY_MAC) == []
    assert any("MPS available" in f.message for f in check(HEALTHY_MAC))


def test_linux_with_or_without_cuda_passes():
    linux = replace(HEALTHY_MAC, system="Linux", machine="x86_64", translated=None, os_version="6.8.0",
                    mps_built=False, mps_available=False, blas="mkl")
    assert verdict(linux) == []
    assert verdict(replace(linux, cuda_version="12.8", cuda_available=True)) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"torch_version": "2.5.1"}, "torch 2.5.1 is older than 2.11"),
        ({"python_version": "3.10.14"}, "Python 3.10.14 is older than 3.11"),
        ({"machine": "x86_64", "translated": True, "mps_available": False}, "running under Rosetta 2"),
        ({"machine": "x86_64", "translated": False, "mps_available": False}, "x86_64 CPU"),
        ({"os_version": "13.6.7", "mps_available": False}, "macOS 13.6.7 is older than 14.0"),
        ({"mps_built": False, "mps_available": False}, "built without MPS"),
        ({"mps_available": False}, "MPS is built but not available"),
    ],
)
def test_each_problem_is_named_once(changes, reason):
    found = verdict(replace(HEALTHY_MAC, **changes))
    assert len(found) == 1, found
    assert reason in found[0]


def test_old_macos_is_not_blamed_on_a_sandbox():
    found = verdict(replace(HEALTHY_MAC, os_version="13.6", mps_available=False))
    assert not any("not available" in p for p in found)


def test_a_venv_inside_conda_is_a_warning_not_a_failure():
    findings = check(replace(HEALTHY_MAC, conda_prefix="/opt/miniforge3/envs/x", in_venv=True))
    assert [f.level for f in findings if f.level != "ok"] == ["warn"]


def test_build_setting_reads_torch_config():
    config = "  - Build settings: BLAS_INFO=accelerate, BUILD_TYPE=Release, LAPACK_INFO=accelerate, TORCH_VERSION=2.11"
    assert build_setting("BLAS_INFO", config) == "accelerate"
    assert build_setting("LAPACK_INFO", config) == "accelerate"
    assert build_setting("NOT_THERE", config) is None
    assert not hasattr(torch.version, "blas")  # why the doctor reads the build settings
    assert build_setting("TORCH_VERSION") is not None  # the installed torch states it


def test_sysctl_and_rosetta_off_macos(monkeypatch):
    monkeypatch.setattr(doctor.sys, "platform", "linux")
    assert doctor.sysctl("hw.perflevel0.physicalcpu") is None
    assert doctor.is_translated() is None


def test_rosetta_detection_reads_proc_translated(monkeypatch):
    monkeypatch.setattr(doctor.sys, "platform", "darwin")
    monkeypatch.setattr(doctor, "sysctl", lambda name: "1" if name == "sysctl.proc_translated" else None)
    assert doctor.is_translated() is True
    monkeypatch.setattr(doctor, "sysctl", lambda name: None)  # an Intel Mac has no such key
    assert doctor.is_translated() is False


def test_gather_facts_describes_this_machine():
    facts = doctor.gather_facts()
    assert facts.torch_version == torch.__version__
    assert facts.mps_built == torch.backends.mps.is_built()
    assert facts.cores["logical"] >= 1


def test_run_doctor_exit_status_and_one_line_reason():
    out, err = io.StringIO(), io.StringIO()
    assert run_doctor(HEALTHY_MAC, out=out, err=err) == 0
    assert "Nothing wrong found." in out.getvalue() and err.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    broken = replace(HEALTHY_MAC, machine="x86_64", translated=True, torch_version="2.2.2", mps_available=False)
    assert run_doctor(broken, out=out, err=err) == 1
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("mpsbook doctor: torch 2.2.2 is older") and "(and 1 more above)" in err.getvalue()
    assert out.getvalue().count("[FAIL]") == 2


def test_main_runs_doctor_and_rejects_no_command(monkeypatch, capsys):
    monkeypatch.setattr("mpsbook.__main__.run_doctor", lambda: 7)
    assert main(["doctor"]) == 7
    assert main([]) == 2
    assert "name a command" in capsys.readouterr().err


def test_python_dash_m_mpsbook_doctor():
    done = subprocess.run([sys.executable, "-m", "mpsbook", "doctor"], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1)
    assert done.stdout.startswith("mpsbook doctor")
    assert (done.returncode == 0) == ("Nothing wrong found." in done.stdout)
