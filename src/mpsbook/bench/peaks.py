"""Published peak figures per device, each with its source, and the lookup that matches a device to its peak.

Apple's chips and the H100's float32 and bandwidth come from ``chips.csv`` (``mpsbook.specs``), the tensor-core
figures of NVIDIA parts, the guide's RTX 3080 and the two NVIDIA cards of mac-ml-speed-test's training runs from
``peaks.csv``. An Apple GPU's peak depends on its core count,
so :func:`peak_for` matches Apple chips on name *and* GPU cores.
"""

from __future__ import annotations

import csv
from importlib import resources

from mpsbook.specs import fp32_tflops, gpu_configs, load_chips


def published_peaks() -> list[dict[str, object]]:
    """Published peak figures per chip: ``float32_tflops``, ``float16_tflops``, ``bfloat16_tflops``,
    ``memory_bandwidth_gbs`` (``None`` where no source states one), with a source for each row.

    Apple's chips and the H100's float32 and bandwidth come from ``chips.csv`` (``mpsbook.specs``); for an Apple chip
    the row is its top GPU configuration and also carries ``gpu_cores``, ``gpu_clock_mhz``, ``other_gpu_configs`` and
    ``float32_tflops_derived`` (cores × 128 × 2 × clock; :func:`peak_for` uses it where Apple states no figure).
    ``peaks.csv`` adds the H100's dense tensor-core figures, the H100 PCIe, the H200, the guide's RTX 3080, and the
    TITAN RTX and V100 SXM2 of mac-ml-speed-test's reported training runs; its
    ``float32_basis`` says where a float32 figure is derived rather than stated (as ``peak_for`` does for Apple).
    """
    rows: dict[str, dict[str, object]] = {}
    for chip in load_chips():
        rows[str(chip["chip"])] = {
            "chip": chip["chip"], "match": str(chip["chip"]), "float32_tflops": chip["gpu_fp32_tflops"],
            "float16_tflops": None, "bfloat16_tflops": None, "memory_bandwidth_gbs": chip["memory_bandwidth_gbs"],
            "source_url": chip["source_url"], "source_title": chip["source_title"],
        }
        if chip["gpu_cores"] is not None:
            rows[str(chip["chip"])].update({
                key: chip[key] for key in ("gpu_cores", "gpu_clock_mhz", "other_gpu_configs", "gpu_clock_source_url")
            }, float32_tflops_derived=chip["gpu_fp32_tflops_derived"])
    text = resources.files("mpsbook").joinpath("data/peaks.csv").read_text(encoding="utf-8")
    for raw in csv.DictReader(text.splitlines()):
        row = rows.setdefault(raw["chip"], {"chip": raw["chip"]})
        for key in ("float32_tflops", "float16_tflops", "bfloat16_tflops", "memory_bandwidth_gbs"):
            if raw[key]:
                value = float(raw[key])
                if row.get(key) not in (None, value):
                    raise ValueError(f"peaks.csv and chips.csv disagree on {raw['chip']} {key}")
                row[key] = value
            row.setdefault(key, None)
        row["match"] = raw["match"]
        if raw["float32_basis"]:  # empty: the float32 figure is the one the source states
            row["float32_basis"] = raw["float32_basis"]
        for key in ("source_url", "source_title"):
            row.setdefault(key, raw[key])
        if row["source_url"] != raw["source_url"]:
            row["source_url_2"], row["source_title_2"] = raw["source_url"], raw["source_title"]
    return list(rows.values())


def _apple_configuration(row: dict[str, object], gpu_cores: int | None) -> dict[str, object] | None:
    configs = gpu_configs(row)
    if gpu_cores is None:
        if len(configs) != 1:
            return None  # sold with several GPU-core counts: the peak would be a guess
        gpu_cores = next(iter(configs))
    cores = int(gpu_cores)
    if cores < 1:
        raise ValueError(f"gpu_cores must be a positive whole number; got {gpu_cores!r}.")
    clock = row.get("gpu_clock_mhz")
    derived = round(fp32_tflops(cores, float(clock)), 3) if clock else None  # type: ignore[arg-type]
    stated = row["float32_tflops"] if cores == row["gpu_cores"] else None  # Apple's figure is for the top config
    basis = "stated" if stated is not None else f"derived: {cores} cores x 128 x 2 x {clock:g} MHz" if derived else None
    return {
        **row, "configuration": f"{row['chip']} ({cores}-core GPU)", "gpu_cores": cores,
        "gpu_config_listed": cores in configs, "float32_tflops": stated if stated is not None else derived,
        "float32_basis": basis, "float32_tflops_derived": derived, "memory_bandwidth_gbs": configs.get(cores),
    }


def peak_for(device_name: str, gpu_cores: int | None = None) -> dict[str, object] | None:
    """The :func:`published_peaks` row for a device name (``torch.cuda.get_device_name`` or Apple's chip
    name), or ``None`` when no row matches (a CPU, or a GPU the table does not list).

    An Apple chip matches on its exact name *and* its GPU-core count (``torch.backends.mps.get_core_count()``): a
    7-core M1 is not an 8-core M1. Its ``float32_tflops`` is Apple's figure where Apple states one for that core
    count, else derived (cores × 128 × 2 × clock; ``float32_basis`` says which), and ``memory_bandwidth_gbs`` is the
    figure stated for that configuration. Without ``gpu_cores`` an Apple chip sold with several GPU-core counts
    matches nothing. NVIDIA names match as substrings (``"NVIDIA H100 80GB HBM3"``), except that an NVL board
    (``"NVIDIA H200 NVL"``, a lower-power PCIe card with lower peaks) matches only a pattern that names NVL, so it
    never takes the SXM board's figures; ``gpu_cores`` is ignored.
    """
    for row in published_peaks():
        patterns = str(row["match"]).split("|")
        if row.get("gpu_cores") is not None:  # an Apple chip
            if device_name in patterns:
                return _apple_configuration(row, gpu_cores)
        elif any(_nvidia_match(p, device_name) for p in patterns):
            return row
    return None


def _nvidia_match(pattern: str, device_name: str) -> bool:
    """Whether a ``peaks.csv`` pattern names this device: equal, or a substring of it that leaves out no NVL."""
    if pattern == device_name:
        return True
    if pattern.startswith("Apple") or pattern not in device_name:
        return False
    return "NVL" in pattern or "NVL" not in device_name.split()
