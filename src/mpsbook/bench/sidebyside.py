"""This book's own measurements of a public benchmark's training workload, on devices other than a Mac's GPU, and
how they stand against the whole loops reported for Macs.

A reported epoch times the whole loop (loading, transforms, the step); this book times the step alone. So the ratio
of the two bounds a comparison from one side only: a reported loop ÷ this book's step (in s/epoch) is at most how
many times faster this book's machine runs the step than the reported Mac, never at least.

    from mpsbook.bench import sidebyside
    sidebyside.measured_table(records, "train_resnet50_32", "s/epoch")   # every variant, with its IQR
    sidebyside.loop_ratios(ours, theirs, "s/epoch")                      # reported loop ÷ this book's step
    sidebyside.steps_beside_loops([("ResNet-50, 32×32", "s/epoch", ours, theirs)])  # one table, every workload
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from mpsbook.bench.report import book_training_rows, iqr_percent, side_by_side_table, sig


def variant_name(mode: str, dtype: str) -> str:
    """How a table names a training case's variant: "float32", "autocast bfloat16", "… compiled", and another
    compiled mode by name ("…, compiled (reduce-overhead)")."""
    name = dtype if dtype == "float32" else f"autocast {dtype}"
    if mode == "eager":
        return name
    return f"{name}, compiled" + ("" if mode == "compile" else f" ({mode})")


def default_name(machine: str, mode: str, dtype: str) -> str:
    """A row of :func:`measured_table`: "nvidia-h200: autocast bfloat16"."""
    return f"{machine}: {variant_name(mode, dtype)}"


def measured_table(records: pd.DataFrame, benchmark: str, unit: str,
                   name: Callable[[str, str, str], str] = default_name) -> pd.DataFrame:
    """Every variant of one training workload in ``records`` (float32 first, then autocast, then compiled), in
    ``unit`` (``"s/epoch"`` or ``"samples/s"``), a column per batch size and the range of the IQR as a share of the
    median in the last column; each machine's rows together, an accelerator's before the CPUs'.
    ``name(machine, mode, dtype)`` names a row (:func:`default_name`). ``ValueError`` when ``records`` hold
    no measurement of ``benchmark``."""
    part = records[records["benchmark"] == benchmark]
    if part.empty:
        raise ValueError(f"no measured case of {benchmark!r} in these records; measured: "
                         f"{', '.join(sorted(records['benchmark'].unique())) or 'none'}.")
    variants = sorted(set(zip(part["mode"], part["dtype"], strict=True)),
                      key=lambda v: (v[0] != "eager", v[1] != "float32", v[1]))
    rows = []
    for mode, dtype in variants:
        found = book_training_rows(part, benchmark, unit, mode=mode, dtype=dtype)
        found["who"] = [name(m, mode, dtype) for m in found["machine"]]
        rows.append(found)
    kind = dict(zip(part["machine"], part["device"], strict=False))
    frame = pd.concat(rows, ignore_index=True)
    frame = frame.assign(cpu=frame["machine"].map(kind).eq("cpu")).sort_values(["cpu", "machine"], kind="stable")
    # the table keeps the rows' order (variants stay in theirs); every row is this book's, so drop the source level
    return side_by_side_table(frame.drop(columns="cpu"), unit).droplevel(0)


def loop_ratios(ours: pd.DataFrame, theirs: pd.DataFrame, unit: str) -> pd.DataFrame:
    """How many times this book's step-only figure beats the reported loops at the batch sizes both have: a row per
    machine of ``ours`` (the side-by-side layout of :func:`mpsbook.bench.report.book_training_rows`), a column per
    batch, each cell the range over the reported machines of ``theirs`` in two significant digits ("5.6–7.5×"). A
    reported loop includes the step and more, so a ratio is an upper bound on how many times faster this book's
    machine runs the step; below 1, the reported machine runs it at least 1/ratio times faster. Empty when no batch
    size is shared."""
    if unit not in ("s/epoch", "samples/s"):
        raise ValueError(f"unit must be 's/epoch' or 'samples/s'; got {unit!r}.")
    pairs = ours[["who", "x", "value"]].merge(theirs[["who", "x", "value"]], on="x", suffixes=("", "_reported"))
    if pairs.empty:
        return pd.DataFrame()
    faster = pairs["value_reported"] / pairs["value"] if unit == "s/epoch" else pairs["value"] / pairs["value_reported"]
    pairs = pairs.assign(ratio=faster, batch=pairs["x"].astype(int))
    table = pairs.groupby(["who", "batch"], sort=False)["ratio"].agg(lambda r: _span(r, "×", 2)).unstack("batch")
    table.index.name = None
    return table[sorted(table.columns)].fillna("–")


def _span(values: pd.Series, suffix: str = "", digits: int = 3) -> str:
    """'5.6–7.5×': the range of ``values`` in ``digits`` significant digits, one figure where both ends read alike."""
    low, high = sig(values.min(), digits), sig(values.max(), digits)
    return f"{low}{suffix}" if low == high else f"{low}–{high}{suffix}"


def steps_beside_loops(parts: Sequence[tuple[str, str, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """Several workloads in one table. Each part is ``(name, unit, ours, theirs)``: this book's float32 steps and
    the reported Macs' loops of one workload in the side-by-side layout
    (:func:`mpsbook.bench.report.book_training_rows`, :func:`mpsbook.bench.report.reported_rows`). A row per step of
    ``ours`` (in their order within each batch size), indexed by workload ("name (unit)"), batch and machine: the
    range of the Macs' loops at that batch ("–" where none ran it), the step, the IQR as a share of it, and
    :func:`loop_ratios`' range. ``ValueError`` when a part has no step of this book's."""
    rows: list[dict[str, str]] = []
    index: list[tuple[str, int, str]] = []
    for name, unit, ours, theirs in parts:
        if ours.empty:
            raise ValueError(f"no step of this book's for {name!r}: run make bench on a machine first.")
        ratios = loop_ratios(ours, theirs, unit)
        for batch in sorted(ours["x"].dropna().astype(int).unique()):
            macs = theirs.loc[theirs["x"] == batch, "value"]
            for step in ours[ours["x"] == batch].itertuples():
                shared = batch in ratios.columns and step.who in ratios.index
                rows.append({"Macs' loops": _span(macs) if len(macs) else "–", "step": sig(step.value),
                             "IQR %": iqr_percent(step.iqr_s, step.median_s, step.samples),
                             "×": ratios.loc[step.who, batch] if shared else "–"})
                index.append((f"{name} ({unit})", batch, step.who))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["workload", "batch", "machine"]))
