"""mpsbook.bench.steps: where a training step's time goes (wall time against the device's kernels)."""

import json

import pytest
import torch

from mpsbook.bench import steps
from mpsbook.bench.cli import main

CPU = torch.device("cpu")


def _mlp_step():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x, y = torch.rand(4, 8), torch.randint(0, 2, (4,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    return step


def test_profile_step_counts_the_hosts_operator_calls_and_no_kernels_on_the_cpu():
    row = steps.profile_step(_mlp_step(), CPU, steps=3, repeats=3, warmup=1)
    assert 0 < row["wall_min_s"] <= row["wall_s"] <= row["wall_max_s"]
    assert row["repeats"] == 3 and row["steps"] == 3
    # forward (2 linear, relu), loss, backward and SGD: dozens of aten calls per step, counted per step
    assert 10 < row["aten_calls"] < 1000
    assert row["kernels"] is None and row["kernel_s"] is None and row["busy"] is None  # no device activity
    assert 0 < row["host_s"] <= 10 * row["wall_max_s"]  # on the CPU the host issues and runs the step itself


def test_profile_step_rejects_no_steps():
    with pytest.raises(ValueError, match="steps and repeats must be at least 1"):
        steps.profile_step(_mlp_step(), CPU, steps=0)


def test_profile_steps_names_what_it_accepts():
    with pytest.raises(ValueError, match=r"training benchmark .*train_resnet50_32.* eager, compile, reduce-overhead"):
        steps.profile_steps(CPU, [("matmul", 1, "eager")])
    with pytest.raises(ValueError, match="eager, compile, reduce-overhead"):
        steps.profile_steps(CPU, [("train_resnet50_32", 1, "jit")])


def test_profile_steps_reports_a_real_training_step_with_provenance():
    report = steps.profile_steps(CPU, [("train_resnet50_32", 2, "eager")], steps=1, repeats=1, warmup=0)
    assert report["schema"] == "mpsbook-bench-steps" and report["provenance"]["device"]["type"] == "cpu"
    (row,) = report["steps"]
    assert row["status"] == "ok" and row["benchmark"] == "train_resnet50_32" and row["batch"] == 2
    assert row["aten_calls"] > 500  # ResNet-50's forward, backward and Adam: hundreds of operator calls
    (line,) = steps.steps_table(report)
    assert line.startswith("train_resnet50_32 batch 2, eager: ") and "aten calls" in line
    assert line.endswith("(torch.profiler records no kernels on this device)")


def test_steps_table_gives_the_busy_share_where_kernels_were_recorded_and_names_a_skip():
    report = {"steps": [
        {"benchmark": "train_resnet50_32", "batch": 32, "mode": "eager", "status": "ok", "wall_s": 0.02,
         "wall_min_s": 0.019, "wall_max_s": 0.021, "repeats": 5, "aten_calls": 2641.0, "kernels": 656.0,
         "kernel_s": 0.005, "busy": 0.25},
        {"benchmark": "train_resnet50_224", "batch": 512, "mode": "eager", "status": "skipped",
         "note": "CUDA out of memory"},
    ]}
    busy, skipped = steps.steps_table(report)  # a report from before host_s: no host time in the line
    assert busy == ("train_resnet50_32 batch 32, eager: 20 ms a step (19–21 over 5 timings), 2,641 aten calls,"
                    " 656 kernels taking 5 ms: the device busy 25 % of the step")
    assert skipped == "train_resnet50_224 batch 512, eager: skipped (CUDA out of memory)"
    report["steps"][0]["host_s"] = 0.0183
    assert steps.steps_table(report)[0].startswith(
        "train_resnet50_32 batch 32, eager: 20 ms a step (19–21 over 5 timings), issued by the host in 18.3 ms,")


def test_cli_profile_steps_writes_the_report_to_checks(tmp_path, capsys, monkeypatch):
    fake = {"schema": "mpsbook-bench-steps", "machine": "somewhere", "steps": []}
    monkeypatch.setattr("mpsbook.bench.cli.profile_steps", lambda device: fake)
    assert main(["--device", "cpu", "--out", str(tmp_path), "--profile-steps"]) == 0
    assert json.loads((tmp_path / "checks" / "somewhere-steps.json").read_text()) == fake
    assert "somewhere-steps.json" in capsys.readouterr().out
