"""results/reported/: other people's measurements on Apple chips, with provenance (mpsbook.reported)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from mpsbook import reported

REPORTED = ROOT / "results" / "reported"
FILES = sorted(REPORTED.glob("*.yaml"))


def test_the_default_folder_is_the_repository_one():
    assert reported.REPORTED_DIR == REPORTED
    assert FILES, "no reported-results files"
    assert (REPORTED / "README.md").is_file()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_file_follows_the_schema(path: Path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert reported.validate_reported(doc) == []
    src = doc["source"]
    assert src["id"] == path.stem
    assert src["url"].startswith("https://")
    assert src["licence"].strip() and src["measured_by"].strip()
    if "github.com" in src["url"]:
        assert re.fullmatch(r"[0-9a-f]{40}", src["commit"]) and src["commit"] in src["url"]
    for name, machine in doc["machines"].items():
        assert machine["chip"].startswith(("Apple M", "NVIDIA ")), name
        assert machine["gpu_cores"] is None or (type(machine["gpu_cores"]) is int and machine["gpu_cores"] > 0)
        for key in ("macos", "torch"):
            assert machine[key] is None or isinstance(machine[key], str), (name, key)
    for workload in doc["workloads"]:
        assert workload["unit"] in reported.UNITS
        assert workload["id"].startswith(src["id"].split("-")[0] + "-"), "workload ids carry the source's prefix"
        assert len(workload["description"].split()) >= 20, f"{workload['id']}: define the workload exactly"
    for row in doc["rows"]:
        chip = doc["machines"][row["machine"]]["chip"]
        assert (row["device"] == "cuda") == chip.startswith("NVIDIA "), row


def test_loader_shape_and_columns():
    frame = reported.load_reported()
    assert tuple(frame.columns) == reported.COLUMNS
    assert len(frame) == sum(len(yaml.safe_load(p.read_text(encoding="utf-8"))["rows"]) for p in FILES)
    assert frame["value"].gt(0).all()
    assert frame["unit"].isin(reported.UNITS).all()
    assert frame["device"].isin(reported.DEVICES).all()
    assert frame["url"].str.startswith("https://").all()
    at_commit = frame["url"].str.contains(r"/[0-9a-f]{40}/")
    posted = frame["url"].str.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/(pull|issues)/\d+")
    assert (at_commit | posted).all(), "every row links to a file at a commit, or to the issue or pull request"
    assert frame["measured_by"].notna().all() and not frame["measured_by"].eq(reported.BOOK).any()
    assert frame["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(frame["vendor"]) <= {"Apple", "NVIDIA"}
    assert (frame["vendor"].eq("NVIDIA") == frame["device"].eq("cuda")).all()
    assert frame["gpu_cores"].dropna().gt(0).all()
    assert frame.loc[frame["kind"].eq("computed"), "source"].eq("philipturner-metal-benchmarks").all()


def test_enough_sources_and_apple_chips():
    frame = reported.load_reported()
    apple = frame[frame["vendor"].eq("Apple")]
    assert apple["source"].nunique() >= 3
    assert apple["chip"].nunique() >= 4
    assert {"Apple M1 Pro", "Apple M3", "Apple M3 Pro", "Apple M3 Max", "Apple M4 Max"} <= set(apple["chip"])
    assert frame["vendor"].eq("NVIDIA").any(), "NVIDIA rows on the same workloads are kept for comparison"


def test_a_known_figure_and_its_url():
    frame = reported.load_reported()
    row = frame[(frame["chip"] == "Apple M3 Max") & (frame["workload"] == "mrdbourke-distilbert-imdb-train")
                & (frame["batch_size"] == 16)].iloc[0]
    assert row["value"] == pytest.approx(48.977)
    assert row["unit"] == "samples/s" and row["device"] == "mps" and row["gpu_cores"] == 30
    assert row["url"].endswith("/results_pytorch_nlp/Apple_M3_Max_IMDB_distilbert-base-uncased_512_pytorch_results.csv")
    v100 = frame[frame["url"].str.contains("Tesla%20V100")]
    assert len(v100) == 7, "a space in a source's file name is escaped in the URL"
    readme = frame[frame["source"].eq("chsasank-device-benchmarks") & ~frame["workload"].str.endswith("-sweep")]["url"]
    assert readme.str.contains(r"README\.md\?plain=1#L\d+$").all()


def test_per_size_figures_and_their_urls():
    frame = reported.load_reported()
    sweep = frame[frame["workload"].eq("chsasank-matmul-sweep")]
    assert sweep["size"].notna().all() and sweep.groupby("chip")["size"].nunique().eq(20).all()
    m4 = sweep[sweep["chip"].eq("Apple M4 Max") & sweep["size"].eq(1024)].iloc[0]
    assert m4["value"] == pytest.approx(2 * 1024**3 / 0.0005026102066040039 / 1e12, rel=1e-3)  # tops = 2n³/t
    assert m4["url"] == "https://github.com/chsasank/device-benchmarks/pull/13"
    m1_pro = frame[frame["workload"].eq("zzc0721-mm-max") & frame["chip"].eq("Apple M1 Pro")]
    assert dict(zip(m1_pro["dtype"], m1_pro["value"], strict=True)) == {"float32": 4.28, "float16": 4.75,
                                                                        "bfloat16": 2.30}
    assert m1_pro["url"].str.endswith("/issues/191").all() and m1_pro["torch"].eq("2.7.0").all()
    assert frame.loc[~frame["workload"].str.endswith("-sweep"), "size"].isna().all()


def test_workload_table():
    workloads = reported.load_workloads()
    assert tuple(workloads.columns) == reported.WORKLOAD_COLUMNS
    assert workloads["workload"].is_unique
    assert set(reported.load_reported()["workload"]) == set(workloads["workload"])


def test_single_file_and_missing_folder(tmp_path: Path):
    frame = reported.load_reported(FILES[0])
    assert set(frame["source"]) == {FILES[0].stem}
    with pytest.raises(FileNotFoundError, match="No reported-results files"):
        reported.load_reported(tmp_path)


def _broken(tmp_path: Path, edit) -> Path:
    source = REPORTED / "zzc0721-torch-performance-test-data.yaml"
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["source"].pop("licence"), "source.licence is missing"),
    (lambda d: d["source"].update(url="https://github.com/zzc0721/torch-performance-test-data"), "source.url"),
    (lambda d: d["machines"]["m3-max"].update(chip="M3 Max"), "machines.m3-max.chip"),
    (lambda d: d["machines"]["m3-max"].update(gpu_cores=0), "machines.m3-max.gpu_cores"),
    (lambda d: d["machines"]["m4-max"].update(torch=2.8), "machines.m4-max.torch"),
    (lambda d: d["workloads"][0].update(unit="TFLOPS"), "workloads[0].unit"),
    (lambda d: d["rows"][0].update(value="fast"), "rows[0].value"),
    (lambda d: d["rows"][0].update(vaule=1.0), "rows[0].vaule is not a known field"),
    (lambda d: d["rows"][0].update(device="cuda"), "rows[0].device"),
    (lambda d: d["rows"][0].update(size=0), "rows[0].size"),
    (lambda d: d["rows"][0].update(url="https://github.com/o/n/issues/1"), "rows[0].url"),
    (lambda d: d["rows"][-1].update(url="http://example.com"), "url must be an https URL"),
    (lambda d: d["rows"][0].update(outlier=True), "rows[0].outlier must say, in words, why"),
])
def test_a_malformed_file_gives_one_line_naming_file_and_field(tmp_path: Path, edit, field: str):
    path = _broken(tmp_path, edit)
    with pytest.raises(ValueError) as info:
        reported.load_reported(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path.name}: ") and field in message


def test_invalid_yaml_gives_one_line(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("source: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^bad\.yaml: not valid YAML at line \d+$"):
        reported.load_reported(tmp_path)


def test_book_results_in_the_same_shape():
    if not any((ROOT / "results").glob("*.json")):
        pytest.skip("no results files yet (make bench)")
    ours = reported.book_results(ROOT / "results")
    assert tuple(ours.columns) == reported.COLUMNS
    assert len(ours) > 0 and ours["measured_by"].eq(reported.BOOK).all() and ours["value"].gt(0).all()
    assert ours["unit"].isin(reported.UNITS).all() and ours["url"].str.match(r"results/[a-z0-9-]+\.json$").all()


def test_no_text_field_was_cut_short_by_a_yaml_comment():
    """An unquoted ' #' starts a YAML comment: 'seshakiran (pull request #7 ...' would lose its tail."""
    import yaml

    for path in FILES:
        def walk(node):
            if isinstance(node, dict):
                for value in node.values():
                    yield from walk(value)
            elif isinstance(node, list):
                for value in node:
                    yield from walk(value)
            elif isinstance(node, str):
                yield node

        for text in walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            assert text.count("(") == text.count(")"), f"{path.name}: {text!r} looks cut short (quote it)"
