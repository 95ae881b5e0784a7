import io
import os
import subprocess
import sys
import sysconfig
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mpsbook import doctor
from mpsbook.__main__ import main
from mpsbook.doctor import CHECKS, CpuLayout, Facts, build_setting, check, problems, render, run_doctor, summary

M1_PRO = CpuLayout(logical=10, usable=None, torch_threads=8, levels=(("Performance", 8), ("Efficiency", 2)))
HEALTHY_MAC = Facts(
    system="Darwin",
    machine="arm64",
    translated=False,
    os_version="15.5",
    python_version="3.12.8",
    torch_version="2.14.1",
    mps_built=True,
    mps_available=True,
    cuda_version=None,
    cuda_available=False,
    blas="accelerate",
    cpu=M1_PRO,
    mps_tensor="ok",
    gpu="Apple M1 Pro, 16 GPU cores",
)


def verdict(facts: Facts) -> list[str]:
    return problems(check(facts))


def warnings(facts: Facts) -> list[str]:
    return [f.message for f in check(facts) if f.level == "warn"]


def test_a_healthy_mac_passes():
    assert verdict(HEALTHY_MAC) == [] and warnings(HEALTHY_MAC) == []
    messages = [f.message for f in check(HEALTHY_MAC)]
    assert "MPS available on macOS 15.5, a tensor round trip works" in messages
    assert "torch uses 8 CPU threads, one per Performance core" in messages


def test_linux_with_or_without_cuda_passes():
    linux = replace(HEALTHY_MAC, system="Linux", machine="x86_64", translated=None, os_version="6.8.0",
                    mps_built=False, mps_available=False, blas="mkl", mps_tensor=None,
                    cpu=CpuLayout(logical=16, usable=16, torch_threads=16))
    assert verdict(linux) == []
    assert verdict(replace(linux, cuda_version="12.8", cuda_available=True)) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"torch_version": "2.5.1"}, "torch 2.5.1 is older than 2.11"),
        ({"python_version": "3.10.14"}, "Python 3.10.14 is older than 3.11"),
        ({"python_version": "3.9.6", "torch_version": "2.11.0"}, "Python 3.9.6 is older than 3.11"),
        ({"python_version": "3.15.0"}, "Python 3.15.0 is newer than 3.14, the newest that the pinned torch 2.14.1"),
        ({"machine": "x86_64", "translated": True, "mps_available": False}, "running under Rosetta 2"),
        ({"machine": "x86_64", "translated": True}, "running under Rosetta 2"),  # conda-forge osx-64: MPS can work
        ({"machine": "x86_64", "translated": False, "mps_available": False}, "x86_64 CPU"),
        ({"os_version": "13.6.7", "mps_available": False}, "macOS 13.6.7 is older than 14.0"),
        ({"mps_built": False, "mps_available": False}, "built without MPS"),
        ({"mps_available": False, "mps_tensor": None}, "MPS is built but not available"),
        ({"mps_tensor": "RuntimeError: boom"}, "tensor round trip on it failed: RuntimeError: boom"),
        ({"torch_version": None, "mps_built": False, "mps_available": False, "mps_tensor": None, "gpu": None,
          "blas": None, "cpu": None}, "torch is not installed"),
    ],
)
def test_each_problem_is_named_once(changes, reason):
    found = verdict(replace(HEALTHY_MAC, **changes))
    assert len(found) == 1, found
    assert reason in found[0]


def test_python_3_14_is_a_warning_and_3_11_to_3_13_pass():
    for version in ("3.11.14", "3.12.13", "3.13.9"):
        assert verdict(replace(HEALTHY_MAC, python_version=version)) == []
        assert warnings(replace(HEALTHY_MAC, python_version=version)) == []
    newest = replace(HEALTHY_MAC, python_version="3.14.2")
    assert verdict(newest) == []
    assert warnings(newest) == [
        "Python 3.14.2: torch 2.14.1 has wheels for it, but coremltools 9.0 (chapter 8) has none newer than 3.13; "
        "Python 3.11 to 3.13 installs every pin"
    ]


def test_old_macos_is_not_blamed_on_a_sandbox():
    found = verdict(replace(HEALTHY_MAC, os_version="13.6", mps_available=False))
    assert not any("not available" in p for p in found)


def test_a_venv_inside_conda_is_a_warning_not_a_failure():
    facts = replace(HEALTHY_MAC, conda_prefix="/opt/miniforge3/envs/x", in_venv=True)
    assert verdict(facts) == [] and len(warnings(facts)) == 1


def test_a_pip_of_another_python_is_a_warning():
    facts = replace(HEALTHY_MAC, pip_elsewhere="pip 25.1 of a Python 3.10")
    assert verdict(facts) == []
    assert warnings(facts) == [
        "the `pip` first on PATH (pip 25.1 of a Python 3.10) installs into another environment than this "
        "Python's: install with `python -m pip`, or activate this environment"
    ]


def test_threads_beyond_the_cpus_are_a_warning_and_settings_are_named():
    crowded = replace(HEALTHY_MAC, cpu=CpuLayout(logical=8, usable=4, torch_threads=8))
    assert verdict(crowded) == [] and "may use 4 CPUs" in warnings(crowded)[0]
    chosen = replace(HEALTHY_MAC, cpu=replace(M1_PRO, torch_threads=10, thread_env=(("OMP_NUM_THREADS", "10"),)))
    assert "torch uses 10 CPU threads, as OMP_NUM_THREADS=10 asks" in [f.message for f in check(chosen)]
    both = replace(M1_PRO, torch_threads=2, thread_env=(("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "2")))
    assert "torch uses 2 CPU threads, as MKL_NUM_THREADS=2 asks (it overrides OMP_NUM_THREADS=1)" in [
        f.message for f in check(replace(HEALTHY_MAC, cpu=both))
    ]


def test_mkl_num_threads_wins_over_omp_num_threads_in_this_torch():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                          capture_output=True, text=True, timeout=120, env=env, check=True)
    assert done.stdout.strip() == "2"  # ParallelCommon.cpp reads OMP_NUM_THREADS, then MKL_NUM_THREADS


def test_summary_counts_failures_and_warnings():
    assert summary(check(HEALTHY_MAC)) == "No failures, no warnings."
    warned = replace(HEALTHY_MAC, pip_elsewhere="pip 25.1 of a Python 3.10")
    assert summary(check(warned)) == "No failures (1 warning)."
    broken = replace(warned, torch_version="2.2.2", conda_prefix="/opt/x", in_venv=True)
    assert summary(check(broken)) == "1 failure (2 warnings)."
    two = replace(HEALTHY_MAC, machine="x86_64", translated=True, torch_version="2.2.2", mps_available=False)
    assert summary(check(two)) == "2 failures."


def test_checks_are_described_once_each():
    names = [c.name for c in CHECKS]
    assert len(names) == len(set(names)) == 8
    assert all(c.reads and c.cannot_see for c in CHECKS)


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


def test_cpu_layout_reads_every_performance_level(monkeypatch):
    m5_max = {"hw.nperflevels": "2", "hw.perflevel0.name": "Super", "hw.perflevel0.physicalcpu": "6",
              "hw.perflevel1.name": "Performance", "hw.perflevel1.physicalcpu": "12"}
    monkeypatch.setattr(doctor, "sysctl", m5_max.get)
    monkeypatch.setenv("OMP_NUM_THREADS", "18")
    layout = doctor.cpu_layout()
    assert layout.levels == (("Super", 6), ("Performance", 12)) and layout.cores == 18
    assert layout.performance_cores == 6  # the fastest level, whatever macOS names it
    assert layout.thread_env == (("OMP_NUM_THREADS", "18"),)
    assert "18 cores (6 Super + 12 Performance)" in render(replace(HEALTHY_MAC, cpu=layout), [])


def test_cpu_layout_here():
    layout = doctor.cpu_layout()
    assert layout.torch_threads == torch.get_num_threads() and layout.logical >= 1
    if sys.platform != "darwin":
        assert layout.levels == () and layout.cores is None and layout.performance_cores is None


def _fake_pip(monkeypatch, location: str, python: str):
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/somewhere/bin/pip")
    answer = subprocess.CompletedProcess([], 0, stdout=f"pip 25.1 from {location}/pip (python {python})\n", stderr="")
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: answer)


def test_pip_elsewhere(monkeypatch):
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    _fake_pip(monkeypatch, "/another/python/site-packages", this)
    assert doctor.pip_elsewhere() == f"pip 25.1 of a Python {this}"
    _fake_pip(monkeypatch, sysconfig.get_paths()["purelib"], "2.7")  # a folder on sys.path, another Python
    assert doctor.pip_elsewhere() == "pip 25.1 of a Python 2.7"
    _fake_pip(monkeypatch, sysconfig.get_paths()["purelib"], this)  # this Python's own pip
    assert doctor.pip_elsewhere() is None
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    assert doctor.pip_elsewhere() is None


def test_mps_round_trip_only_where_mps_is():
    expected = "ok" if torch.backends.mps.is_available() else None
    assert doctor.mps_round_trip() == expected
    assert (doctor.mps_gpu() is None) == (not torch.backends.mps.is_available())


def test_gather_facts_describes_this_machine():
    facts = doctor.gather_facts()
    assert facts.torch_version == torch.__version__
    assert facts.mps_built == torch.backends.mps.is_built()
    assert facts.cpu is not None and facts.cpu.logical >= 1


def test_gather_facts_without_torch_gives_a_verdict(monkeypatch):
    monkeypatch.setattr(doctor, "torch", None)
    facts = doctor.gather_facts()
    assert facts.torch_version is None and not facts.mps_built and facts.cpu is None and facts.gpu is None
    assert "  PyTorch : not installed" in render(facts, check(facts))
    rosetta = replace(facts, system="Darwin", machine="x86_64", translated=True, os_version="15.5")
    assert [p.split(":")[0] for p in verdict(rosetta)] == [
        "torch is not installed in this Python",
        "this Python is an x86_64 build running under Rosetta 2 on an Apple Silicon Mac",
    ]


def test_the_doctor_module_runs_where_torch_cannot_be_imported():
    # Loaded by path, so mpsbook/__init__.py (whose helpers import torch) is not run; torch is made unimportable.
    code = (
        "import importlib.util, sys\n"
        "sys.modules['torch'] = None\n"
        f"spec = importlib.util.spec_from_file_location('doctor_alone', {doctor.__file__!r})\n"
        "module = sys.modules['doctor_alone'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "sys.exit(module.run_doctor())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "  PyTorch : not installed" in done.stdout
    assert "mpsbook doctor: torch is not installed in this Python" in done.stderr


def test_run_doctor_exit_status_and_one_line_reason():
    out, err = io.StringIO(), io.StringIO()
    assert run_doctor(HEALTHY_MAC, out=out, err=err) == 0
    assert out.getvalue().endswith("\nNo failures, no warnings.\n") and err.getvalue() == ""
    assert "  CPU     : 10 cores (8 Performance + 2 Efficiency); torch uses 8 threads" in out.getvalue()
    assert "  GPU     : Apple M1 Pro, 16 GPU cores (MPS)" in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert run_doctor(replace(HEALTHY_MAC, pip_elsewhere="pip 25.1 of a Python 3.10"), out=out, err=err) == 0
    assert "[warn]" in out.getvalue() and out.getvalue().endswith("No failures (1 warning).\n")
    out, err = io.StringIO(), io.StringIO()
    broken = replace(HEALTHY_MAC, machine="x86_64", translated=True, torch_version="2.2.2", mps_available=False)
    assert run_doctor(broken, out=out, err=err) == 1
    assert err.getvalue().count("\n") == 1
    assert err.getvalue().startswith("mpsbook doctor: torch 2.2.2 is older") and "(and 1 more above)" in err.getvalue()
    assert out.getvalue().count("[FAIL]") == 2 and out.getvalue().endswith("2 failures.\n")


def test_main_runs_doctor_and_rejects_no_command(monkeypatch, capsys):
    monkeypatch.setattr("mpsbook.__main__.run_doctor", lambda: 7)
    assert main(["doctor"]) == 7
    assert main([]) == 2
    assert "name a command" in capsys.readouterr().err


def test_python_dash_m_mpsbook_doctor():
    src = str(Path(doctor.__file__).parents[1])
    done = subprocess.run([sys.executable, "-m", "mpsbook", "doctor"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": src})
    assert done.returncode in (0, 1)
    assert done.stdout.startswith("mpsbook doctor")
    assert (done.returncode == 0) == done.stdout.strip().splitlines()[-1].startswith("No failures")
    here = check(doctor.gather_facts())  # the same verdicts as the report this process would print
    assert done.stdout.strip().splitlines()[-1] == summary(here)
    assert (done.returncode == 0) == (not problems(here))


def test_compatibility_versions_of_macos(monkeypatch):
    assert doctor.real_macos_version("16.0") == "26.0" and doctor.real_macos_version("16.1.2") == "26.1.2"
    assert doctor.real_macos_version("15.5") == "15.5" and doctor.real_macos_version("10.16") == "10.16"
    monkeypatch.setattr(doctor.sys, "platform", "linux")
    assert doctor.macos_version() == ""
    monkeypatch.setattr(doctor.sys, "platform", "darwin")
    seen = {}

    def sw_vers(args, **kwargs):
        seen["env"] = kwargs["env"].get("SYSTEM_VERSION_COMPAT")
        return subprocess.CompletedProcess(args, 0, stdout="26.1\n", stderr="")

    monkeypatch.setattr(doctor.subprocess, "run", sw_vers)
    assert doctor.macos_version() == "26.1" and seen["env"] == "0"
    monkeypatch.setattr(doctor.subprocess, "run", lambda args, **kwargs: (_ for _ in ()).throw(OSError()))
    monkeypatch.setattr(doctor.platform, "mac_ver", lambda: ("16.0", ("", "", ""), "arm64"))
    assert doctor.macos_version() == "26.0"  # the fallback undoes macOS 26's compatibility version


def test_macos_10_16_is_not_called_too_old():
    facts = replace(HEALTHY_MAC, machine="x86_64", translated=True, os_version="10.16")
    assert not any("older than 14.0" in p for p in verdict(facts))
    assert any("compatibility version" in w for w in warnings(facts))
