"""The benchmark suite's plumbing: slugs, the results schema, skipping what does not fit, one tiny run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mpsbook import bench

CPU = torch.device("cpu")
TINY = bench.Sweep(
    "tiny",
    matmul_sizes={"float32": (16,)},
    elementwise_sizes=(1024,),
    model_batches={},
    min_run_time=0.01,
    max_run_time=0.05,
    block_time=0.005,
)


@pytest.fixture(scope="module")
def tiny_run() -> dict:
    return bench.run_suite(CPU, TINY, only=["matmul", "elementwise"], progress=False)


@pytest.mark.parametrize(
    ("device_type", "name", "cores", "slug"),
    [
        ("cuda", "NVIDIA H100 80GB HBM3", None, "nvidia-h100-80gb-hbm3"),
        ("mps", "Apple M2 Pro", 19, "apple-m2-pro-19-core-gpu"),
        ("mps", "Apple M1", None, "apple-m1"),
        ("cpu", "AMD EPYC", 2, "cpu-amd-epyc-2-cores"),
        ("cpu", "Intel(R) Xeon(R) Platinum 8480C", 26, "cpu-intel-xeon-platinum-8480c-26-cores"),
        ("cpu", "AMD EPYC 9654 96-Core Processor", 16, "cpu-amd-epyc-9654-16-cores"),
        ("cpu", "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", 6, "cpu-intel-core-i7-8700-6-cores"),
        ("cpu", "Apple M2 Pro", 12, "cpu-apple-m2-pro-12-cores"),
    ],
)
def test_machine_slug(device_type, name, cores, slug):
    assert bench.machine_slug(device_type, name, cores) == slug


def test_machine_slug_rejects_unknown_device():
    with pytest.raises(ValueError, match="use cpu, cuda or mps"):
        bench.machine_slug("xpu", "Intel Arc")


def test_slug_of_this_cpu_is_a_slug():
    slug = bench.slug_for(CPU)
    assert re.fullmatch(r"cpu-[a-z0-9]+(-[a-z0-9]+)*-\d+-cores", slug), slug


def test_tiny_run_follows_the_schema(tiny_run):
    assert bench.validate_results(tiny_run) == []
    assert tiny_run["schema_version"] == bench.SCHEMA_VERSION
    assert [(r["benchmark"], r["size"], r["status"]) for r in tiny_run["results"]] == [
        ("matmul", 16, "ok"),
        ("elementwise", 1024, "ok"),
    ]
    matmul = tiny_run["results"][0]
    assert matmul["flop"] == 2 * 16**3 and matmul["bytes"] == 3 * 16 * 16 * 4
    assert matmul["gflop_per_s"] == pytest.approx(matmul["flop"] / matmul["median_s"] / 1e9)
    assert matmul["samples"] >= 1 and matmul["calls_per_sample"] >= 1
    prov = tiny_run["provenance"]
    assert prov["device"]["type"] == "cpu" and prov["device"]["memory_bytes"] > 0
    assert prov["software"]["torch"] == torch.__version__
    json.dumps(tiny_run)  # everything in it is JSON


def test_write_and_load_round_trip(tiny_run, tmp_path):
    path = bench.write_results(tiny_run, tmp_path)
    assert path.name == f"{tiny_run['machine']}.json"
    assert bench.load_results(tmp_path) == {tiny_run["machine"]: json.loads(path.read_text())}


def test_validate_reports_problems(tiny_run):
    assert bench.validate_results([]) == ["not a JSON object"]
    broken = {**tiny_run, "schema_version": 99}
    assert any("schema_version" in p for p in bench.validate_results(broken))
    record = {**tiny_run["results"][0], "status": "skipped", "note": ""}
    assert any("without a note" in p for p in bench.validate_results({**tiny_run, "results": [record]}))
    missing = {k: v for k, v in tiny_run.items() if k != "provenance"}
    assert bench.validate_results(missing) == ["missing key 'provenance'"]


def test_load_results_rejects_an_invalid_file(tmp_path):
    (tmp_path / "x.json").write_text('{"schema": "something else", "schema_version": 2}')
    with pytest.raises(ValueError, match=r"x\.json: missing key"):
        bench.load_results(tmp_path)
    (tmp_path / "x.json").write_text('{"schema": "mpsbook-bench", "schema_version": 7}')
    with pytest.raises(ValueError, match=r"x\.json: schema_version 7, this code reads"):
        bench.load_results(tmp_path)


def test_a_version_1_file_is_read_as_version_2(tiny_run, tmp_path):
    old = json.loads(json.dumps(tiny_run))
    old["schema_version"] = 1
    del old["provenance"]["flags"]
    for rec in old["results"]:
        del rec["mode"], rec["compile_s"]
    (tmp_path / f"{old['machine']}.json").write_text(json.dumps(old))
    doc = bench.load_results(tmp_path)[old["machine"]]
    assert doc["schema_version"] == 2 and doc["upgraded_from_version"] == 1
    assert {r["mode"] for r in doc["results"]} == {"eager"}
    assert bench.validate_results(doc) == []


def test_records_frame_has_one_row_per_record_with_its_run(tiny_run):
    clean, flagged = json.loads(json.dumps(tiny_run)), json.loads(json.dumps(tiny_run))
    clean["provenance"]["flags"] = []  # the tiny run itself may be flagged on a busy test machine
    flagged["provenance"]["flags"] = ["load average 3.5 above the 2 logical cores"]
    frame = bench.records_frame({"clean": clean, "busy": flagged})
    assert len(frame) == 2 * len(tiny_run["results"])
    assert list(frame.columns[:5]) == ["machine", "device", "device_name", "flags", "flagged"]
    assert frame.groupby("machine")["flagged"].first().to_dict() == {"busy": True, "clean": False}
    assert (frame.loc[frame["machine"] == "busy", "flags"] == "load average 3.5 above the 2 logical cores").all()
    assert str(frame["size"].dtype) == "Int64" and frame["epoch_items"].isna().all()
    assert frame["median_s"].tolist()[:2] == [r["median_s"] for r in tiny_run["results"]]


def test_epoch_steps_and_seconds_of_a_training_record():
    rec = {"epoch_items": 50_000, "batch": 128, "median_s": 0.02, "iqr_s": 0.001}
    assert bench.epoch_steps(rec) == 391  # ⌈50,000 / 128⌉: the last, partial batch is a step too
    assert bench.epoch_seconds(rec) == pytest.approx(391 * 0.02)
    # records read through pandas carry NumPy scalars
    assert bench.epoch_steps({**rec, "epoch_items": np.int64(50_000), "batch": np.int64(128)}) == 391
    for missing in ({"batch": 128, "median_s": 0.02}, {**rec, "epoch_items": float("nan")}, {**rec, "batch": None}):
        assert bench.epoch_steps(missing) is None and bench.epoch_seconds(missing) is None
    assert bench.epoch_seconds({**rec, "median_s": None}) is None


def test_the_repository_results_files_are_readable():
    docs = bench.load_results(Path(__file__).resolve().parent.parent / "results")
    assert docs and all(bench.validate_results(d) == [] for d in docs.values())


def test_a_product_over_the_time_cap_skips_the_larger_sizes_of_its_dtype():
    capped = bench.Sweep("capped", matmul_sizes={"float32": (16, 32, 64), "bfloat16": (16, 32)},
                         elementwise_sizes=(), model_batches={}, min_run_time=0.01, max_run_time=0.02,
                         block_time=0.002, max_call_s=1e-12)  # every product is over a cap this small
    doc = bench.run_suite(CPU, capped, only=["matmul"], progress=False)
    status = {(r["dtype"], r["size"]): (r["status"], r["note"]) for r in doc["results"]}
    assert status[("float32", 16)][0] == "ok" and status[("bfloat16", 16)][0] == "ok"  # each dtype's first size runs
    for key in [("float32", 32), ("float32", 64), ("bfloat16", 32)]:
        assert status[key][0] == "skipped" and status[key][1].startswith("time cap: n = 16 took ")
    assert bench.SWEEPS["cpu"].max_call_s == 0.5 and bench.SWEEPS["full"].max_call_s is None


@pytest.mark.parametrize(
    ("host", "device", "expected"),
    [
        ({"logical_cores": 2, "load_average_1min": 0.4, "load_average_1min_end": 0.9, "physical_cores": 2,
          "torch_threads": 2}, "cpu", []),
        ({"logical_cores": 2, "load_average_1min": 3.5, "physical_cores": 2, "torch_threads": 2}, "cpu",
         ["load average 3.5 above the 2 logical cores"]),
        ({"logical_cores": 2, "load_average_1min": 0.1, "physical_cores": 2, "torch_threads": 1}, "cpu",
         ["torch used 1 thread(s) on 2 physical cores"]),
        ({"logical_cores": 16, "load_average_1min": 1.0, "physical_cores": 16, "torch_threads": 1}, "cuda", []),
        # a 10-core M1 Pro: torch's default is its 8 performance cores, which is no reason to flag the run
        ({"logical_cores": 10, "load_average_1min": 1.0, "physical_cores": 10, "performance_cores": 8,
          "torch_threads": 8}, "cpu", []),
        ({"logical_cores": 10, "load_average_1min": 1.0, "physical_cores": 10, "performance_cores": 8,
          "torch_threads": 4}, "cpu", ["torch used 4 thread(s) on 8 performance cores"]),
        ({"logical_cores": 12, "mac_power": {"cpu_speed_limit_percent": 70, "power_source": "Battery Power",
                                            "low_power_mode": True}}, "mps",
         ["pmset reported a CPU speed limit of 70 % (at the start of the run)",
          "on Battery Power (at the start of the run)", "Low Power Mode on (at the start of the run)"]),
        # a Mac that starts cool and throttles during the run: only the reading at the end shows it
        ({"logical_cores": 12, "mac_power": {"cpu_speed_limit_percent": 100, "power_source": "AC Power"},
          "mac_power_end": {"cpu_speed_limit_percent": 60, "power_source": "AC Power"}}, "mps",
         ["pmset reported a CPU speed limit of 60 % (at the end of the run)"]),
        ({"logical_cores": 12, "mac_power": {"power_source": "Battery Power"},
          "mac_power_end": {"power_source": "Battery Power"}}, "mps",
         ["on Battery Power (at the start and at the end of the run)"]),
    ],
)
def test_run_flags(host, device, expected):
    assert bench.run_flags({"host": host, "device": {"type": device}}) == expected


def test_an_mps_run_with_the_cpu_fallback_on_is_flagged(monkeypatch):
    host = {"logical_cores": 12, "load_average_1min": 1.0}
    flags = bench.run_flags({"host": host, "device": {"type": "mps"}, "software": {"mps_fallback_env": "1"}})
    assert flags == ["PYTORCH_ENABLE_MPS_FALLBACK=1: an operation without an MPS kernel ran on the CPU, timed as the"
                     " GPU's"]
    assert bench.run_flags({"host": host, "device": {"type": "cuda"}, "software": {"mps_fallback_env": "1"}}) == []
    monkeypatch.setenv("PYTORCH_ENABLE_MPS_FALLBACK", "1")
    assert bench.provenance(CPU)["software"]["mps_fallback_env"] == "1"


def test_an_mps_run_off_its_default_kernels_is_flagged(monkeypatch):
    host = {"logical_cores": 12, "load_average_1min": 1.0}
    software = {"mps_prefer_metal_env": "1", "mps_fast_math_env": "1"}
    flags = bench.run_flags({"host": host, "device": {"type": "mps"}, "software": software})
    assert [f.split(":")[0] for f in flags] == ["PYTORCH_MPS_PREFER_METAL=1", "PYTORCH_MPS_FAST_MATH=1"]
    assert bench.run_flags({"host": host, "device": {"type": "mps"}, "software": {"mps_prefer_metal_env": "0"}}) == []
    monkeypatch.setenv("PYTORCH_MPS_PREFER_METAL", "1")
    monkeypatch.delenv("PYTORCH_MPS_FAST_MATH", raising=False)
    recorded = bench.provenance(CPU)["software"]
    assert (recorded["mps_prefer_metal_env"], recorded["mps_fast_math_env"]) == ("1", None)


def test_a_run_reads_pmset_at_its_start_and_its_end(tiny_run):
    host = tiny_run["provenance"]["host"]
    assert "mac_power" in host and "mac_power_end" in host  # None off a Mac, a dict on one


def test_provenance_records_the_tf32_switches():
    software = bench.provenance(CPU)["software"]
    assert software["float32_matmul_precision"] == torch.get_float32_matmul_precision()
    assert software["cudnn_allow_tf32"] is torch.backends.cudnn.allow_tf32  # True by default in torch 2.14.1
    assert software["cuda_matmul_allow_tf32"] is torch.backends.cuda.matmul.allow_tf32
    assert software["cudnn_conv_fp32_precision"] == torch.backends.cudnn.conv.fp32_precision
    assert software["cudnn_rnn_fp32_precision"] == torch.backends.cudnn.rnn.fp32_precision
    assert software["mkldnn_matmul_fp32_precision"] == torch.backends.mkldnn.matmul.fp32_precision == "none"
    assert software["cudnn_benchmark"] is False  # the suite leaves cuDNN's algorithm choice to its heuristics


def test_provenance_records_the_cpus_16_bit_and_matrix_features(monkeypatch):
    from mpsbook.bench import machine

    found = bench.provenance(CPU)["host"]["cpu_features"]
    assert found["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert set(found["features"]) == set(machine.LINUX_CPU_FLAGS) and found["source"] == "/proc/cpuinfo"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = next(line for line in f if line.startswith(("flags", "Features"))).split(":", 1)[1].split()
    assert all(present == (name in flags) for name, present in found["features"].items())
    # on a Mac: sysctl, with None where the OS has no such name (an older macOS), never a guess
    answers = {"hw.optional.arm.FEAT_FP16": "1\n", "hw.optional.arm.FEAT_BF16": "0\n"}

    def sysctl(args, **_):
        name = args[-1]
        return type("Done", (), {"returncode": 0 if name in answers else 1, "stdout": answers.get(name, "")})()

    monkeypatch.setattr(machine.sys, "platform", "darwin")
    monkeypatch.setattr(machine.subprocess, "run", sysctl)
    mac = machine.cpu_features()["features"]
    assert mac == {"hw.optional.arm.FEAT_FP16": True, "hw.optional.arm.FEAT_BF16": False,
                   "hw.optional.arm.FEAT_SME": None, "hw.optional.arm.FEAT_SME2": None}


def test_a_stalled_sizing_block_is_sized_again(monkeypatch):
    from mpsbook.bench import harness

    calls: list[int] = []

    class FakeTimer:
        """Each call takes 1 ms, except the first sizing block, which stalls (as a page fault or a busy host
        might make it): the harness must not keep the short blocks that stall implies."""

        def __init__(self, **_):
            pass

        def timeit(self, number: int):
            calls.append(number)
            took = 1e-3 * number + (1.0 if len(calls) == 1 else 0.0)
            return SimpleNamespace(raw_times=[took], number_per_run=number, task_spec=None)

    monkeypatch.setattr(harness, "Timer", FakeTimer)
    monkeypatch.setattr(harness, "Measurement", lambda number_per_run, raw_times, task_spec: SimpleNamespace(
        number_per_run=number_per_run, times=[t / number_per_run for t in raw_times],
        iqr=0.0, median=sorted(raw_times)[len(raw_times) // 2] / number_per_run))
    m = harness.measure(lambda: None, CPU, min_run_time=0.01, max_run_time=10.0, warmup=0, min_samples=3,
                        block_time=0.05)
    # sized on the stalled block: 1 call a block; the first blocks last 1 ms (< 50 ms / 4), so sized again: 50 calls
    assert calls[:4] == [1, 1, 1, 50] and m.number_per_run == 50
    assert m.median == pytest.approx(1e-3)


def test_mac_power_state_reads_pmset(monkeypatch):
    from mpsbook.bench import machine

    outputs = {
        ("therm",): "Note: No thermal warning level has been recorded\n\tCPU_Scheduler_Limit \t= 100\n"
                    "\tCPU_Available_CPUs \t= 12\n\tCPU_Speed_Limit \t= 100\n",
        ("batt",): "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1234)\t100%; charged; 0:00 remaining\n",
        (): "System-wide power settings:\nCurrently in use:\n lowpowermode         0\n sleep                1\n",
    }
    monkeypatch.setattr(machine.sys, "platform", "darwin")
    monkeypatch.setattr(machine, "_pmset", lambda *args: outputs[args])
    assert machine.mac_power_state() == {
        "cpu_speed_limit_percent": 100, "power_source": "AC Power", "low_power_mode": False,
        "source": "pmset -g therm / pmset -g batt / pmset -g",
    }
    monkeypatch.setattr(machine.sys, "platform", "linux")
    monkeypatch.setattr(machine, "_pmset", machine._pmset.__wrapped__ if hasattr(machine._pmset, "__wrapped__")
                        else lambda *args: None)
    assert machine.mac_power_state() is None


def test_the_sweeps_hold_the_public_mac_workloads():
    full = bench.SWEEPS["full"]
    assert {"train_resnet50_32", "train_resnet50_224", "train_distilbert_512"} <= set(full.model_batches)
    assert full.compile_batches and full.devbench and full.sdpa_lengths
    matmul, copy = bench.devbench_sizes()
    assert (matmul[0], matmul[-1], len(matmul)) == (256, 6888, 20)
    assert (copy[0], copy[-1], len(copy)) == (2**20, int(2**26.5), 14)


def test_a_training_case_times_an_optimizer_step():
    sweep = bench.Sweep(
        "tiny-train", matmul_sizes={}, elementwise_sizes=(), model_batches={"train_resnet50_32": (2,)},
        compile_batches={"train_resnet50_32": (2,)}, min_run_time=0.01, max_run_time=0.05, warmup=0, min_samples=1,
    )
    cases = bench.build_cases(sweep, CPU, only=["train_resnet50_32"])
    assert [(c.mode, c.dtype) for c in cases] == [("eager", "float32"), ("compile", "float32")]
    assert cases[0].flop == cases[1].flop > 0, "forward + backward counted once per batch size"
    rec = bench.run_case(cases[0], CPU, sweep)
    assert rec["status"] == "ok" and rec["compile_s"] is None and rec["epoch_items"] == 50_000
    assert bench.epoch_seconds(rec) == pytest.approx(25_000 * rec["median_s"])


def test_a_compiled_case_records_its_first_call_apart():
    import time as t

    calls = []

    def build(device):
        def fn():
            t.sleep(0.05 if not calls else 0.0)  # the first call "compiles"
            calls.append(1)

        return fn

    case = bench.Case("train_resnet50_32", build, batch=2, mode="compile")
    rec = bench.run_case(case, CPU, TINY)
    assert rec["mode"] == "compile" and rec["compile_s"] >= 0.05 > rec["median_s"]


def test_more_blocks_while_the_spread_is_large():
    import itertools

    noisy = itertools.cycle([0.0, 0.004])  # alternate fast and slow calls: a large IQR

    def fn():
        import time as t

        t.sleep(next(noisy))

    m = bench.measure(fn, CPU, min_run_time=0.01, max_run_time=0.3, min_samples=3, block_time=0.001)
    assert len(m.times) > 3, "a noisy case keeps sampling until max_run_time"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "skipped"),
        (RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB, max allowed: 18.13 GB)."), "skipped"),
        (RuntimeError("some kernel is not implemented"), "failed"),
    ],
)
def test_a_case_that_raises_becomes_a_record(error, status):
    def build(device):
        raise error

    case = bench.Case("matmul", build, size=65536, shape="huge")
    rec = bench.run_case(case, CPU, TINY)
    assert rec["status"] == status and rec["median_s"] is None
    assert (status == "skipped") == rec["note"].startswith("out of memory")


def test_a_case_larger_than_free_memory_is_skipped_before_allocating():
    def build(device):
        raise AssertionError("must not allocate")

    case = bench.Case("elementwise", build, size=1, needs_bytes=2**62)
    rec = bench.run_case(case, CPU, TINY)
    assert rec["status"] == "skipped" and "GiB free on cpu" in rec["note"]


def test_sweeps_are_valid_and_reject_unknown_names():
    assert set(bench.SWEEPS) == {"full", "cpu", "quick"}
    with pytest.raises(ValueError, match="Unknown dtype"):
        bench.Sweep("x", {"float8": (1,)}, (), {})
    with pytest.raises(ValueError, match="Unknown benchmark"):
        bench.build_cases(TINY, CPU, only=["matmul", "resnet"])


def test_measure_times_per_call():
    calls = []
    m = bench.measure(lambda: calls.append(1), CPU, min_run_time=0.01, max_run_time=0.05, block_time=0.005)
    assert m.median > 0 and len(m.times) >= 1
    assert len(calls) >= m.number_per_run * len(m.times)


def test_published_peaks_agree_with_chips_csv():
    peaks = {row["chip"]: row for row in bench.published_peaks()}
    h100 = peaks["NVIDIA H100 SXM"]
    assert (h100["float32_tflops"], h100["bfloat16_tflops"], h100["memory_bandwidth_gbs"]) == (67, 989.5, 3350)
    assert peaks["Apple M1"]["float32_tflops"] == 2.6
    assert peaks["Apple M1 Pro"]["float32_tflops"] is None  # Apple states no figure
    assert bench.peak_for("NVIDIA H100 80GB HBM3")["chip"] == "NVIDIA H100 SXM"
    assert bench.peak_for("NVIDIA H100 PCIe")["chip"] == "NVIDIA H100 PCIe"
    assert bench.peak_for("NVIDIA H200")["chip"] == "NVIDIA H200 SXM"
    # peaks.csv's float32_basis marks a figure derived from cores and clock; a stated figure carries none
    assert bench.peak_for("NVIDIA H200")["float32_basis"] == "derived: 16896 cores x 2 x 1980 MHz"
    assert "float32_basis" not in bench.peak_for("NVIDIA H100 80GB HBM3")
    assert bench.peak_for("NVIDIA H200 NVL") is None  # a lower-power board: not the SXM peaks
    assert bench.peak_for("NVIDIA H100 NVL") is None
    assert bench.peak_for("Apple M1 Pro", gpu_cores=16)["chip"] == "Apple M1 Pro"  # not "Apple M1"
    assert bench.peak_for("AMD EPYC") is None


def test_apple_peaks_match_chip_and_gpu_core_count():
    m1_8, m1_7 = bench.peak_for("Apple M1", gpu_cores=8), bench.peak_for("Apple M1", gpu_cores=7)
    assert (m1_8["float32_tflops"], m1_8["float32_basis"]) == (2.6, "stated")  # Apple's figure, 8-core GPU
    assert m1_7["float32_tflops"] == round(7 * 128 * 2 * 1278 / 1e6, 3) != m1_8["float32_tflops"]
    assert m1_7["float32_basis"].startswith("derived") and m1_7["configuration"] == "Apple M1 (7-core GPU)"
    assert bench.peak_for("Apple M1") is None  # sold with 7 and 8 GPU cores: no guess
    assert bench.peak_for("Apple M5")["gpu_cores"] == 10  # one known configuration
    max30, max40 = bench.peak_for("Apple M3 Max", gpu_cores=30), bench.peak_for("Apple M3 Max", gpu_cores=40)
    assert (max30["memory_bandwidth_gbs"], max40["memory_bandwidth_gbs"]) == (300, 400)
    assert max30["float32_tflops"] == round(30 * 256 * 1380 / 1e6, 3)
    assert bench.peak_for("Apple M4 Pro", gpu_cores=16)["memory_bandwidth_gbs"] is None  # not stated for 16 cores
    assert bench.peak_for("Apple M2", gpu_cores=9)["gpu_config_listed"] is False
    assert bench.peak_for("Apple M9", gpu_cores=10) is None
    assert bench.peak_for("Apple M1 Pro Max", gpu_cores=16) is None  # Apple names match exactly
    with pytest.raises(ValueError, match="positive whole number"):
        bench.peak_for("Apple M1", gpu_cores=0)


def test_model_flop_counts_on_meta():
    assert bench.model_flop("lstm", 1) == 2 * 4 * 512 * (512 + 512) * 512  # 4 gates, input and hidden matmuls


def test_cli_rejects_an_unavailable_device(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--device", "tpu"])
    assert "Unknown device 'tpu'" in capsys.readouterr().err


def test_cli_writes_one_file_per_device(tmp_path, capsys):
    argv = ["--device", "cpu", "--quick", "--only", "elementwise", "--no-progress", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    (path,) = tmp_path.glob("*.json")
    doc = bench.load_results(tmp_path)[path.stem]
    assert doc["sweep"]["name"] == "quick" and {r["benchmark"] for r in doc["results"]} == {"elementwise"}
    assert f"wrote {path}" in capsys.readouterr().out


def test_check_matmul_reports_harness_bare_loop_and_burst_on_cpu():
    import torch

    from mpsbook.bench import check_matmul

    report = check_matmul(torch.device("cpu"), size=64, dtypes=("float32",), seconds=0.01, burst_calls=3, rest_s=0)
    (row,) = report["checks"]
    assert row["status"] == "ok" and row["burst_calls"] == 3
    assert row["harness_tflops"] > 0 and row["bare_loop_tflops"] > 0 and row["burst_tflops"] > 0
    assert len(row["harness_runs_s"]) == len(row["bare_loop_runs_s"]) == 2
    assert row["within_tolerance"] == (abs(row["harness_vs_bare"] - 1) <= row["tolerance"])
    assert "percent_of_peak" not in row, "no published peak for this CPU, so no percentage"


def test_check_matmul_times_in_abba_order_so_a_steady_drift_cancels(monkeypatch):
    from types import SimpleNamespace

    from mpsbook.bench import check

    calls = []

    def drifting(kind):  # every timing, whatever the method, is 1 % slower than the one before
        calls.append(kind)
        return 1e-3 * (1 + 0.01 * (len(calls) - 1))

    monkeypatch.setattr(check, "measure", lambda fn, device, **kw: SimpleNamespace(median=drifting("harness")))
    monkeypatch.setattr(check, "bare_loop_seconds", lambda fn, device, n, **kw: drifting("bare"))
    report = check.check_matmul(CPU, size=16, dtypes=("float32",), seconds=0.01, rest_s=0, tolerance=0.005)
    (row,) = report["checks"]
    assert calls == ["harness", "bare", "bare", "harness", "bare"]  # A B B A, then the burst after the rest
    assert row["harness_vs_bare"] == pytest.approx(1.0) and row["within_tolerance"]  # harness first, yet no bias
    with pytest.raises(ValueError, match="tolerance"):
        check.check_matmul(CPU, size=16, dtypes=("float32",), tolerance=2)


def test_print_check_says_whether_a_peak_is_stated_or_derived(capsys):
    from mpsbook.bench.check import print_check

    stored = Path(__file__).resolve().parent.parent / "results" / "checks"
    report = json.loads((stored / "nvidia-h200-matmul.json").read_text())
    print_check(report)  # written before rows recorded their peak's basis: looked up in peaks.csv
    lines = capsys.readouterr().out.splitlines()
    float32 = next(line for line in lines if "float32" in line)
    bfloat16 = next(line for line in lines if "bfloat16" in line)
    assert "66.91 TFLOP/s (derived: 16896 cores x 2 x 1980 MHz)" in float32 and "published" not in float32
    assert "989 TFLOP/s (stated)" in bfloat16
