"""The results file: one JSON document per machine, ``results/<machine>.json``, versioned and checked.

Schema ``mpsbook-bench``, version 2 (:data:`SCHEMA_VERSION`)::

    schema          "mpsbook-bench"
    schema_version  2
    machine         the file's stem: a slug of the device name (mpsbook.bench.machine.machine_slug)
    sweep           the Sweep that ran (sizes, batches, dtypes, timing budget) and the model shapes
    provenance      device {type, name, cores, cores_unit, memory_bytes, memory_source, ...}
                    host {cpu, logical_cores, physical_cores, performance_cores (macOS), torch_threads, memory_bytes,
                          os, machine, load_average_1min, load_average_1min_end, mac_power, mac_power_end,
                          cpu_features {torch_cpu_capability, features, source}}
                    software {python, torch, cuda, cudnn, mps_fallback_env, mps_prefer_metal_env, mps_fast_math_env,
                              float32_matmul_precision,
                              cuda_matmul_allow_tf32, cudnn_allow_tf32, cudnn_conv_fp32_precision,
                              cudnn_rnn_fp32_precision, cudnn_benchmark, mkldnn_matmul_fp32_precision, torchvision,
                              transformers, numpy}
                    date_utc, flags (why the run may understate the machine; empty when clean)
    results         one record per case, keys RECORD_KEYS (None where a figure does not apply):
                    benchmark, dtype, size, batch, shape, mode ("eager" | "compile"), status ("ok" | "skipped" |
                    "failed"), note (why, when not ok), median_s and iqr_s (per call, over samples timed blocks of
                    calls_per_sample calls), flop and bytes (per call), gflop_per_s, gb_per_s, items_per_s,
                    compile_s (the first call of a compiled case, timed apart); training cases add epoch_items
    duration_s      the run's wall time
    cpu_baseline    (accelerator files) the slug of the CPU file the same run wrote

Version 1 files (written before 2026-12) lack ``mode``, ``compile_s`` and ``provenance.flags``; :func:`load_results`
reads them as eager cases with no flags, so older machines stay in the plots. Provenance fields added later without a
version bump, because nothing reads them as required (``host.mac_power_end``, ``host.performance_cores``,
``host.cpu_features``, ``software.mps_fallback_env``, ``mps_prefer_metal_env``, ``mps_fast_math_env``;
``software.cuda_matmul_allow_tf32``, ``cudnn_allow_tf32``, ``cudnn_conv_fp32_precision``, ``cudnn_rnn_fp32_precision``,
``cudnn_benchmark``, ``mkldnn_matmul_fp32_precision``),
are simply absent from older files: "not recorded", not "off".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mpsbook.bench.cases import BENCHMARKS, MODES
from mpsbook.bench.machine import run_flags

if TYPE_CHECKING:
    import pandas as pd

SCHEMA = "mpsbook-bench"
#: Bumped whenever a field changes meaning or a required field is added; older versions are upgraded on reading.
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)

#: Keys every result record carries (``None`` where a figure does not apply).
RECORD_KEYS = (
    "benchmark", "dtype", "size", "batch", "shape", "mode", "status", "note",
    "median_s", "iqr_s", "samples", "calls_per_sample", "flop", "bytes",
    "gflop_per_s", "gb_per_s", "items_per_s", "compile_s",
)
TOP_KEYS = ("schema", "schema_version", "machine", "sweep", "provenance", "results", "duration_s")
STATUSES = ("ok", "skipped", "failed")


def upgrade(doc: dict[str, object]) -> dict[str, object]:
    """A version-1 document in the version-2 shape (a copy); newer documents are returned as they are."""
    if doc.get("schema_version") != 1:
        return doc
    doc = json.loads(json.dumps(doc))
    for rec in doc["results"]:  # type: ignore[union-attr]
        rec.setdefault("mode", "eager")
        rec.setdefault("compile_s", None)
    doc["provenance"]["flags"] = run_flags(doc["provenance"])  # type: ignore[index]
    doc["schema_version"] = SCHEMA_VERSION
    doc["upgraded_from_version"] = 1
    return doc


def validate_results(doc: object) -> list[str]:
    """Problems with a results document; an empty list means it follows the schema (version 2)."""
    if not isinstance(doc, dict):
        return ["not a JSON object"]
    problems = [f"missing key {key!r}" for key in TOP_KEYS if key not in doc]
    if problems:
        return problems
    if doc["schema"] != SCHEMA:
        problems.append(f"schema is {doc['schema']!r}, expected {SCHEMA!r}")
    if doc["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version is {doc['schema_version']!r}, this code reads {READABLE_VERSIONS}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(doc["machine"])):
        problems.append(f"machine {doc['machine']!r} is not a slug")
    prov = doc["provenance"]
    for path in ("device.type", "device.name", "device.memory_bytes", "host.cpu", "host.os", "software.python",
                 "software.torch", "date_utc", "flags"):
        node = prov
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None and path != "device.memory_bytes":
            problems.append(f"provenance.{path} missing")
    if not isinstance(doc["results"], list) or not doc["results"]:
        return [*problems, "results is not a non-empty list"]
    for i, rec in enumerate(doc["results"]):
        missing = [key for key in RECORD_KEYS if key not in rec]
        if missing:
            problems.append(f"results[{i}] lacks {missing}")
            continue
        if rec["benchmark"] not in BENCHMARKS or rec["status"] not in STATUSES or rec["mode"] not in MODES:
            problems.append(
                f"results[{i}] has benchmark {rec['benchmark']!r}, status {rec['status']!r}, mode {rec['mode']!r}"
            )
        if rec["status"] == "ok" and not (isinstance(rec["median_s"], float) and rec["median_s"] > 0):
            problems.append(f"results[{i}] is ok but has no positive median_s")
        if rec["status"] != "ok" and not rec["note"]:
            problems.append(f"results[{i}] is {rec['status']} without a note")
    return problems


def write_results(doc: dict[str, object], out: Path | str) -> Path:
    """Write ``doc`` to ``<out>/<machine>.json`` (after checking it) and return the path."""
    problems = validate_results(doc)
    if problems:
        raise ValueError(f"Refusing to write an invalid results file: {problems[0]}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{doc['machine']}.json"
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_results(directory: Path | str) -> dict[str, dict[str, object]]:
    """Every ``*.json`` results file in ``directory`` (upgraded to version 2), by machine slug.

    Raises ``ValueError`` naming the file and its first problem when one is invalid or of an unknown version.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"No results directory {directory}: run `make bench` first.")
    docs = {}
    for path in sorted(directory.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and raw.get("schema_version") not in READABLE_VERSIONS:
            version = raw.get("schema_version")
            raise ValueError(f"{path.name}: schema_version {version!r}, this code reads {READABLE_VERSIONS}")
        doc = upgrade(raw) if isinstance(raw, dict) else raw
        problems = validate_results(doc)
        if problems:
            raise ValueError(f"{path.name}: {problems[0]}")
        docs[str(doc["machine"])] = doc
    return docs


#: Columns of :func:`records_frame` before the record's own keys.
RUN_COLUMNS = ("machine", "device", "device_name", "flags", "flagged")


def records_frame(docs: Mapping[str, dict[str, object]]) -> pd.DataFrame:
    """Every record of every results document (as :func:`load_results` returns them) in one table.

    One row per record: the run's ``machine`` slug, ``device`` type, ``device_name``, its ``flags`` joined by "; "
    and ``flagged`` (any flag), then :data:`RECORD_KEYS` and ``epoch_items`` (training cases; empty elsewhere).
    Whole-number columns that can be empty (size, batch, samples, calls per sample, epoch items) are ``Int64``.
    """
    import pandas as pd  # imported here: reading and writing results files does not need pandas

    rows = []
    for slug, doc in docs.items():
        prov = doc["provenance"]
        flags = list(prov.get("flags") or [])  # type: ignore[union-attr]
        run = {
            "machine": slug, "device": prov["device"]["type"], "device_name": prov["device"]["name"],  # type: ignore[index]
            "flags": "; ".join(flags), "flagged": bool(flags),
        }
        for rec in doc["results"]:  # type: ignore[union-attr]
            rows.append({**run, **{key: rec.get(key) for key in (*RECORD_KEYS, "epoch_items")}})
    frame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *RECORD_KEYS, "epoch_items"])
    return frame.astype({key: "Int64" for key in ("size", "batch", "samples", "calls_per_sample", "epoch_items")})
