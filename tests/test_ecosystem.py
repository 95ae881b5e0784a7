import re

from mpsbook.ecosystem import COLUMNS, load_ecosystem
from mpsbook.specs import sources_table

GUIDE_TABLE = {"PyTorch", "TensorFlow", "JAX", "Hugging Face Transformers", "scikit-learn", "OpenCV"}


def test_every_row_is_complete_and_has_a_source():
    rows = load_ecosystem()
    assert len(rows) >= 10
    for row in rows:
        assert tuple(row) == COLUMNS
        assert all(value.strip() for value in row.values()), row["library"]
        assert re.fullmatch(r"https://[^\s]+", row["source_url"]), row["library"]
        assert row["neural_engine"].split(",")[0] in {"no", "yes"}, row["library"]
        assert re.match(r"(yes|no|removed)\b", row["gpu"]), row["library"]
    libraries = [row["library"] for row in rows]
    assert len(libraries) == len(set(libraries)), "one row per library"


def test_the_guide_table_and_the_additions_are_there():
    rows = {row["library"]: row for row in load_ecosystem()}
    assert GUIDE_TABLE <= set(rows)
    for name in GUIDE_TABLE:
        assert rows[name]["guide_says"] != "not in the guide", name
    for name in ("MLX", "ONNX Runtime", "ExecuTorch, Core ML backend", "ExecuTorch, MPS backend"):
        assert name in rows
    assert rows["JAX"]["status"] == "experimental"
    assert rows["ExecuTorch, MPS backend"]["status"].startswith("deprecated")
    assert rows["MLX"]["neural_engine"] == "no"
    assert rows["ExecuTorch, MPS backend"]["gpu"] == "removed"


def test_renders_with_the_shared_sources_table():
    table = sources_table(load_ecosystem(), {"library": "Library", "status": "Status"})
    lines = table.splitlines()
    assert lines[0] == "| Library | Status | Source |"
    assert "| JAX | experimental | [jax-metal (PyPI)](https://pypi.org/project/jax-metal/) |" in lines
