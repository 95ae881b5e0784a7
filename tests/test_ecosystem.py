import re

import pytest

from mpsbook import ecosystem
from mpsbook.ecosystem import COLUMNS, load_ecosystem, load_mlx_vs_mps, months_between
from mpsbook.specs import sources_table

GUIDE_TABLE = {"PyTorch", "TensorFlow", "JAX", "Hugging Face Transformers", "scikit-learn", "OpenCV"}
MAC_TOOLS = {"MLX", "mlx-lm", "llama.cpp (GGUF)", "Ollama", "Foundation Models: Apple's system model",
             "Foundation Models: sessions over any LanguageModel (OS 27)", "Core ML (coremltools)",
             "Core AI (coreai-torch)", "ExecuTorch"}


def by_name() -> dict[str, dict[str, str]]:
    return {row["library"]: row for row in load_ecosystem()}


def test_every_row_is_complete_and_has_a_source():
    rows = load_ecosystem()
    assert len(rows) >= 12
    for row in rows:
        assert tuple(row) == COLUMNS
        assert all(value.strip() for value in row.values()), row["library"]
        assert re.fullmatch(r"https://[^\s]+", row["source_url"]), row["library"]
    libraries = [row["library"] for row in rows]
    assert len(libraries) == len(set(libraries)), "one row per library"


def test_the_guide_table_and_what_mac_users_run_are_there():
    names = by_name()
    for name in GUIDE_TABLE:  # the guide's six rows, found by their first word
        row = next(r for library, r in names.items() if library.split()[0] == name.split()[0])
        assert row["guide_says"] != "not in the guide", name
    assert MAC_TOOLS <= set(names)
    assert names["MLX"]["neural_engine"] == "no"
    assert names["TensorFlow (tensorflow-metal)"]["status"] == "stale"
    assert names["JAX (jax-metal)"]["status"] == "stale"
    assert "removed" in names["ExecuTorch"]["notes"] and "22181" in names["ExecuTorch"]["source_url"]


def test_versions_say_when_they_were_read():
    rows = by_name()
    assert all(row["latest_month"] <= row["checked"][:7] for row in rows.values())
    earlier = {name for name, row in rows.items() if row["checked"] != "2026-12-01"}
    assert earlier == {"Ollama", "Foundation Models: sessions over any LanguageModel (OS 27)"}
    assert all("snapshot" in rows[name]["version_source"] for name in earlier)  # and say where
    assert "binding" in rows["llama.cpp (GGUF)"]["latest_version"]  # not llama.cpp's own build number


def test_foundation_models_rows_tell_the_system_model_from_the_session_api():
    rows = by_name()
    system = rows["Foundation Models: Apple's system model"]
    sessions = rows["Foundation Models: sessions over any LanguageModel (OS 27)"]
    assert "rebuilt" in system["notes"] and "2025 tech report" in system["notes"]  # the ~3B figure is dated
    assert "CoreAILanguageModel" in sessions["notes"] and "MLX" in sessions["notes"]
    assert sessions["neural_engine"].startswith("yes") and "developer.apple.com" in sessions["source_url"]


def test_opencv_reaches_the_gpu_only_through_opencl():
    row = by_name()["OpenCV"]
    assert row["mac_gpu"].startswith("yes") and "OpenCL" in row["mac_gpu"] and "deprecated" in row["mac_gpu"]
    assert "20202" in row["notes"]


def test_months_between():
    assert months_between("2025-01", "2026-12-01") == 23
    assert months_between("2026-12", "2026-12") == 0
    assert months_between("2024-10", "2026-12") == 26


def test_stale_rows_are_the_old_plug_ins():
    old = {row["library"] for row in load_ecosystem() if months_between(row["latest_month"], "2026-12") > 18}
    assert old == {row["library"] for row in load_ecosystem() if row["status"] == "stale"}


def test_renders_with_the_shared_sources_table():
    table = sources_table(load_ecosystem(), {"library": "Library", "status": "Status"})
    lines = table.splitlines()
    assert lines[0] == "| Library | Status | Source |"
    assert "| JAX (jax-metal) | stale | [jax-metal (PyPI)](https://pypi.org/project/jax-metal/) |" in lines


def test_a_bad_row_is_named(monkeypatch):
    good = ecosystem._read("ecosystem.csv")
    bad = [dict(good[0], status="dubious")]
    monkeypatch.setattr(ecosystem, "_read", lambda name: bad)
    with pytest.raises(ValueError, match=r"line 2 \(PyTorch \(mps device\)\): status must be one of"):
        load_ecosystem()
    monkeypatch.setattr(ecosystem, "_read", lambda name: [dict(good[0], checked="2026-09-30")])
    with pytest.raises(ValueError, match="released after it was checked"):
        load_ecosystem()


def test_reported_mlx_vs_mps_rows():
    rows = load_mlx_vs_mps()
    assert len(rows) >= 25
    for row in rows:
        assert row["mlx"] > 0 and row["mps"] > 0
        assert str(row["chip"]).startswith("Apple M")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(row["date"]))
    files = [r for r in rows if "/blob/" in str(r["url"])]
    assert files and all(re.search(r"/blob/[0-9a-f]{40}/.+#L\d+$", str(r["url"])) for r in files)
    m1_ultra_sort = next(r for r in rows if r["chip"] == "Apple M1 Ultra" and r["workload"] == "Sort")
    assert (m1_ultra_sort["mlx"], m1_ultra_sort["mps"]) == (1.07, 92.57)  # as printed at the cited line


def test_mlx_benchmark_rows_are_every_chip_run_with_mlx_0_20_or_later():
    rows = [r for r in load_mlx_vs_mps() if r["source"] == "TristanBilot/mlx-benchmark"]
    chips = {str(r["chip"]) for r in rows}
    assert chips == {"Apple M1 Ultra", "Apple M3", "Apple M3 Ultra", "Apple M4", "Apple M4 Pro", "Apple M4 Max"}
    for chip in chips:
        mine = [r for r in rows if r["chip"] == chip]
        assert sorted(str(r["workload"]) for r in mine) == ["Conv2d", "Linear", "MatMul", "Softmax", "Sort"], chip
        versions = {str(r["mlx_version"]) for r in mine}
        assert len(versions) == 1, f"{chip}: one run per chip"
        assert tuple(int(p) for p in versions.pop().split(".")) >= (0, 20, 0), chip
