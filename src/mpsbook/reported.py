"""Measurements other people made on Apple chips (``results/reported/*.yaml``), as one table.

The book has no Mac. What it shows about Apple chips beyond its own runs comes from these files: one
YAML file per public source, each with the source's URL at a commit, its licence, who measured, when,
the machines (chip, GPU cores, memory, macOS and PyTorch versions where the source states them), the
workloads exactly as the source defines them, and the figures. ``results/reported/README.md`` describes
the format; :func:`validate_reported` checks it.

    from mpsbook.reported import load_reported, load_workloads, book_results
    reported = load_reported("../results/reported")   # one row per figure
    ours = book_results("../results")                  # the book's own results files, same columns

A row's ``measured_by`` names the source's author; the book's own figures say ``"this book"``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import yaml

#: ``results/reported`` of the repository this module was imported from (an editable install or
#: ``PYTHONPATH=src``, like ``results/`` for ``make bench``).
REPORTED_DIR = Path(__file__).resolve().parents[2] / "results" / "reported"
BOOK = "this book"

DEVICES = ("mps", "cpu", "cuda", "metal")  # metal: the Apple GPU without PyTorch (llama.cpp, Metal shaders)
UNITS = ("s/epoch", "samples/s", "tokens/s", "items/s", "TFLOP/s", "GFLOP/s", "GB/s")
KINDS = ("measured", "computed")  # computed: a peak rate derived from clocks and core counts, not timed
DTYPES = ("float32", "float16", "bfloat16")
VENDORS = {"Apple M": "Apple", "NVIDIA ": "NVIDIA"}  # the chip name's prefix -> vendor

SOURCE_KEYS = {"id": True, "title": False, "url": True, "repository": False, "commit": False,
               "licence": True, "measured_by": True, "date": True, "notes": False}  # key -> required
MACHINE_KEYS = {"chip": True, "gpu_cores": True, "memory_gb": True, "macos": True, "torch": True,
                "measured_by": False, "date": False, "note": False}
WORKLOAD_KEYS = {"id": True, "description": True, "metric": True, "unit": True, "higher_is_better": True,
                 "kind": True, "defined_in": False}
ROW_KEYS = {"machine": True, "device": True, "workload": True, "value": True, "dtype": False,
            "batch_size": False, "size": False, "path": False, "line": False, "url": False, "date": False,
            "note": False, "outlier": False}

COLUMNS = (
    "source", "chip", "vendor", "gpu_cores", "memory_gb", "macos", "torch", "device", "workload", "dtype",
    "batch_size", "size", "metric", "value", "unit", "higher_is_better", "kind", "measured_by", "date",
    "url", "note", "outlier",
)
WORKLOAD_COLUMNS = ("workload", "source", "metric", "unit", "higher_is_better", "kind", "description", "url")

_COMMIT = re.compile(r"[0-9a-f]{40}")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _is_date(value: object) -> bool:
    if isinstance(value, dt.date):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else (None if value is None else str(value))


def vendor(chip: str) -> str:
    """``"Apple"`` or ``"NVIDIA"`` from a chip's name, ``"other"`` for anything else (a host CPU)."""
    return next((name for prefix, name in VENDORS.items() if chip.startswith(prefix)), "other")


def _keys(where: str, node: object, spec: Mapping[str, bool]) -> list[str]:
    if not isinstance(node, Mapping):
        return [f"{where} is not a mapping"]
    missing = [f"{where}.{key} is missing" for key, required in spec.items() if required and key not in node]
    unknown = [f"{where}.{key} is not a known field" for key in node if key not in spec]
    return missing + unknown


def validate_reported(doc: object) -> list[str]:
    """Problems with one reported-results document, each naming its field; empty means it is valid."""
    if not isinstance(doc, Mapping):
        return ["the file is not a YAML mapping"]
    problems = [f"{key} is missing" for key in ("source", "machines", "workloads", "rows") if key not in doc]
    if problems:
        return problems
    src = doc["source"]
    problems += _keys("source", src, SOURCE_KEYS)
    if problems:
        return problems
    for key in ("id", "licence", "measured_by"):
        if not (isinstance(src[key], str) and src[key].strip()):
            problems.append(f"source.{key} is empty")
    url = str(src["url"])
    if not url.startswith("https://"):
        problems.append(f"source.url {url!r} is not https")
    if "github.com/" in url and not _COMMIT.search(url):
        problems.append("source.url names no 40-hex commit (cite a GitHub source at a commit)")
    if ("repository" in src) != ("commit" in src):
        problems.append("source.repository and source.commit go together")
    elif "commit" in src and not (_COMMIT.fullmatch(str(src["commit"])) and str(src["commit"]) in url):
        problems.append("source.commit is not a 40-hex commit that source.url contains")
    if not _is_date(src["date"]):
        problems.append("source.date is not a YYYY-MM-DD date")

    machines = doc["machines"]
    if not isinstance(machines, Mapping) or not machines:
        return [*problems, "machines is not a non-empty mapping"]
    for name, machine in machines.items():
        where = f"machines.{name}"
        keys = _keys(where, machine, MACHINE_KEYS)
        if keys:
            problems += keys
            continue
        if not isinstance(machine["chip"], str) or vendor(machine["chip"]) == "other":
            problems.append(f"{where}.chip {machine['chip']!r} starts with neither 'Apple M' nor 'NVIDIA '")
        if machine["gpu_cores"] is not None and not _is_count(machine["gpu_cores"]):
            problems.append(f"{where}.gpu_cores is not a positive integer")
        if machine["memory_gb"] is not None and not _is_number(machine["memory_gb"]):
            problems.append(f"{where}.memory_gb is not a positive number")
        for key in ("macos", "torch", "measured_by"):
            if machine.get(key) is not None and not isinstance(machine[key], str):
                problems.append(f"{where}.{key} is not a string (quote version numbers)")
        if machine.get("date") is not None and not _is_date(machine["date"]):
            problems.append(f"{where}.date is not a YYYY-MM-DD date")

    workloads = doc["workloads"]
    if not isinstance(workloads, list) or not workloads:
        return [*problems, "workloads is not a non-empty list"]
    ids: list[object] = []
    for i, workload in enumerate(workloads):
        where = f"workloads[{i}]"
        keys = _keys(where, workload, WORKLOAD_KEYS)
        if keys:
            problems += keys
            continue
        ids.append(workload["id"])
        if workload["unit"] not in UNITS:
            problems.append(f"{where}.unit {workload['unit']!r} is not one of {', '.join(UNITS)}")
        if workload["kind"] not in KINDS:
            problems.append(f"{where}.kind {workload['kind']!r} is not one of {', '.join(KINDS)}")
        if not isinstance(workload["higher_is_better"], bool):
            problems.append(f"{where}.higher_is_better is not true or false")
        for key in ("description", "metric"):
            if not (isinstance(workload[key], str) and workload[key].strip()):
                problems.append(f"{where}.{key} is empty")
    if len(set(ids)) != len(ids):
        problems.append("workloads has a repeated id")

    rows = doc["rows"]
    if not isinstance(rows, list) or not rows:
        return [*problems, "rows is not a non-empty list"]
    for i, row in enumerate(rows):
        where = f"rows[{i}]"
        keys = _keys(where, row, ROW_KEYS)
        if keys:
            problems += keys
            continue
        machine = machines.get(row["machine"])
        if machine is None:
            problems.append(f"{where}.machine {row['machine']!r} is not in machines")
        if row["workload"] not in ids:
            problems.append(f"{where}.workload {row['workload']!r} is not in workloads")
        if row["device"] not in DEVICES:
            problems.append(f"{where}.device {row['device']!r} is not one of {', '.join(DEVICES)}")
        elif isinstance(machine, Mapping) and isinstance(machine.get("chip"), str):
            expected = "NVIDIA" if row["device"] == "cuda" else "Apple"
            if vendor(machine["chip"]) != expected:
                problems.append(f"{where}.device {row['device']!r} does not fit chip {machine['chip']!r}")
        if not _is_number(row["value"]):
            problems.append(f"{where}.value is not a positive number")
        if row.get("dtype") is not None and row["dtype"] not in DTYPES:
            problems.append(f"{where}.dtype {row['dtype']!r} is not one of {', '.join(DTYPES)}")
        for key in ("batch_size", "size", "line"):
            if row.get(key) is not None and not _is_count(row[key]):
                problems.append(f"{where}.{key} is not a positive integer")
        if "path" in row and "repository" not in src:
            problems.append(f"{where}.path needs source.repository and source.commit")
        if "url" in row and ("path" in row or not str(row["url"]).startswith("https://")):
            problems.append(f"{where}.url must be an https URL, and not beside path (a figure is in one place)")
        if row.get("date") is not None and not _is_date(row["date"]):
            problems.append(f"{where}.date is not a YYYY-MM-DD date")
        if "outlier" in row and not (isinstance(row["outlier"], str) and row["outlier"].strip()):
            problems.append(f"{where}.outlier must say, in words, why the figure is not drawn in a line")
    return problems


def _read(path: Path) -> dict:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path.name}: not valid YAML{where}") from None
    problems = validate_reported(doc)
    if not problems and doc["source"]["id"] != path.stem:
        problems = [f"source.id {doc['source']['id']!r} differs from the file name"]
    if problems:
        raise ValueError(f"{path.name}: {problems[0]}")
    return doc


def _files(path: Path | str | None) -> list[Path]:
    path = REPORTED_DIR if path is None else Path(path)
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.yaml")) if path.is_dir() else []
    if not files:
        raise FileNotFoundError(f"No reported-results files (*.yaml) in {path}.")
    return files


def _row_url(src: Mapping, row: Mapping) -> str:
    if "url" in row:  # a figure published outside the cited commit: a pull request, an issue
        return str(row["url"])
    if "path" not in row:
        return str(src["url"])
    url = f"https://github.com/{src['repository']}/blob/{src['commit']}/{quote(str(row['path']))}"
    return url + (f"?plain=1#L{row['line']}" if row.get("line") else "")


def load_reported(path: Path | str | None = None) -> pd.DataFrame:
    """One row per reported figure from every ``*.yaml`` in ``path`` (a directory or one file).

    ``path=None`` reads :data:`REPORTED_DIR`. Columns are :data:`COLUMNS`; a figure the source does not
    state (macOS, torch, GPU cores, memory) is empty, never filled in. A file that breaks the format
    raises ``ValueError`` naming the file and the field.
    """
    records = []
    for file in _files(path):
        doc = _read(file)
        src, workloads = doc["source"], {w["id"]: w for w in doc["workloads"]}
        for row in doc["rows"]:
            machine, workload = doc["machines"][row["machine"]], workloads[row["workload"]]
            records.append({
                "source": src["id"], "chip": machine["chip"], "vendor": vendor(machine["chip"]),
                "gpu_cores": machine["gpu_cores"], "memory_gb": machine["memory_gb"],
                "macos": machine["macos"], "torch": machine["torch"], "device": row["device"],
                "workload": row["workload"], "dtype": row.get("dtype"), "batch_size": row.get("batch_size"),
                "size": row.get("size"), "metric": workload["metric"], "value": float(row["value"]),
                "unit": workload["unit"], "higher_is_better": workload["higher_is_better"],
                "kind": workload["kind"], "measured_by": machine.get("measured_by", src["measured_by"]),
                "date": _iso(row.get("date") or machine.get("date") or src["date"]),
                "url": _row_url(src, row), "note": row.get("note") or machine.get("note"),
                "outlier": row.get("outlier"),
            })
    return _frame(records)


def load_workloads(path: Path | str | None = None) -> pd.DataFrame:
    """The workload table of every source: id, source, metric, unit, direction, kind, definition, URL."""
    records = []
    for file in _files(path):
        doc = _read(file)
        src = doc["source"]
        for w in doc["workloads"]:
            url = src["url"]
            if w.get("defined_in") and "repository" in src:
                url = f"https://github.com/{src['repository']}/blob/{src['commit']}/{quote(w['defined_in'])}"
            records.append({
                "workload": w["id"], "source": src["id"], "metric": w["metric"], "unit": w["unit"],
                "higher_is_better": w["higher_is_better"], "kind": w["kind"],
                "description": " ".join(w["description"].split()), "url": url,
            })
    return pd.DataFrame(records, columns=list(WORKLOAD_COLUMNS))


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(COLUMNS))
    for column in ("gpu_cores", "batch_size", "size"):
        frame[column] = frame[column].astype("Int64")
    frame["memory_gb"] = frame["memory_gb"].astype("float64")
    frame["value"] = frame["value"].astype("float64")
    return frame


#: How a record of the book's own results files (``mpsbook.bench``) becomes a figure.
_BOOK_FIGURES = {
    "matmul": ("matrix-multiplication throughput at one size", "TFLOP/s", "gflop_per_s", 1e-3),
    "elementwise": ("elementwise add, bytes moved per second", "GB/s", "gb_per_s", 1.0),
    "resnet50": ("inference throughput", "items/s", "items_per_s", 1.0),
    "lstm": ("inference throughput", "items/s", "items_per_s", 1.0),
    "bert": ("inference throughput", "items/s", "items_per_s", 1.0),
}


def book_results(directory: Path | str) -> pd.DataFrame:
    """The book's own results files (``results/*.json``, written by ``make bench``) in :data:`COLUMNS`.

    One row per successful record: ``measured_by`` and ``source`` are ``"this book"``, ``workload`` is
    ``mpsbook-<benchmark>`` (defined in ``mpsbook.bench``), ``size`` the matrix side or element count,
    ``url`` the results file relative to the repository. GPU cores are given for MPS only (a CUDA
    device reports streaming multiprocessors, which are not comparable); memory is the device's, in GiB.
    """
    from mpsbook.bench import load_results  # imports torch: only when the book's files are wanted

    records = []
    for slug, doc in load_results(directory).items():
        prov = doc["provenance"]
        device, host, software = prov["device"], prov["host"], prov["software"]  # type: ignore[index]
        name = device["name"] if device["type"] != "cpu" else host["cpu"]
        memory = device.get("memory_bytes")
        for rec in doc["results"]:  # type: ignore[union-attr]
            if rec["status"] != "ok" or rec["benchmark"] not in _BOOK_FIGURES:
                continue
            metric, unit, key, scale = _BOOK_FIGURES[rec["benchmark"]]
            if rec[key] is None:
                continue
            records.append({
                "source": BOOK, "chip": name, "vendor": vendor(name),
                "gpu_cores": device.get("cores") if device["type"] == "mps" else None,
                "memory_gb": round(memory / 2**30, 1) if memory else None,
                "macos": host["os"] if device["type"] == "mps" else None, "torch": software["torch"],
                "device": device["type"], "workload": f"mpsbook-{rec['benchmark']}", "dtype": rec["dtype"],
                "batch_size": rec["batch"], "size": rec["size"], "metric": metric,
                "value": float(rec[key]) * scale, "unit": unit, "higher_is_better": True, "kind": "measured",
                "measured_by": BOOK, "date": str(prov["date_utc"])[:10], "url": f"results/{slug}.json",
                "note": rec["shape"],
            })
    return _frame(records)
