"""This book's own measurements of a public benchmark's training workload, on devices other than a Mac's GPU, and
how they stand against the whole loops reported for Macs.

A reported epoch times the whole loop (loading, transforms, the step); this book times the step alone. So the ratio
of the two bounds a comparison from one side only: a reported loop ÷ this book's step (in s/epoch) is at most how
many times faster this book's machine runs the step than the reported Mac, never at least.

    from mpsbook.bench import sidebyside
    sidebyside.measured_table(records, "train_resnet50_32", "s/epoch")   # every variant, with its IQR
    sidebyside.loop_ratios(ours, theirs, "s/epoch")                      # reported loop ÷ this book's step
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from mpsbook.bench.report import book_training_rows, side_by_side_table, sig


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
    batch, each cell the range over the reported machines of ``theirs`` ("5.6–7.5×"). A reported loop includes the
    step and more, so a ratio is an upper bound on how many times faster this book's machine runs the step; below
    1, the reported machine runs it at least 1/ratio times faster. Empty when no batch size is shared."""
    if unit not in ("s/epoch", "samples/s"):
        raise ValueError(f"unit must be 's/epoch' or 'samples/s'; got {unit!r}.")
    pairs = ours[["who", "x", "value"]].merge(theirs[["who", "x", "value"]], on="x", suffixes=("", "_reported"))
    if pairs.empty:
        return pd.DataFrame()
    faster = pairs["value_reported"] / pairs["value"] if unit == "s/epoch" else pairs["value"] / pairs["value_reported"]
    pairs = pairs.assign(ratio=faster, batch=pairs["x"].astype(int))

    def span(group: pd.Series) -> str:
        low, high = sig(group.min()), sig(group.max())
        return f"{low}×" if low == high else f"{low}–{high}×"

    table = pairs.groupby(["who", "batch"], sort=False)["ratio"].agg(span).unstack("batch")
    table.index.name = None
    return table[sorted(table.columns)].fillna("–")
