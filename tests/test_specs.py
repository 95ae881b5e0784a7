import pytest

from mpsbook.specs import COLUMNS, NUMERIC, load_chips, sources_table


def test_every_row_has_a_source_and_typed_figures():
    rows = load_chips()
    assert len(rows) >= 12
    for row in rows:
        assert tuple(row) == COLUMNS
        assert str(row["source_url"]).startswith("https://"), row["chip"]
        assert row["source_title"], row["chip"]
        for key in NUMERIC:
            assert row[key] is None or row[key] > 0, (row["chip"], key)


def test_published_figures_the_book_relies_on():
    chips = {row["chip"]: row for row in load_chips()}
    assert chips["Apple M1"]["neural_engine_tops"] == 11
    assert chips["Apple M1"]["memory_bandwidth_gbs"] is None  # Apple never stated it as a number
    assert chips["Apple M1 Ultra"]["memory_bandwidth_gbs"] == 800
    assert chips["Apple M2"]["neural_engine_tops"] == 15.8


def test_family_filter_and_unknown_family():
    assert {row["chip"] for row in load_chips("Apple M1")} == {
        "Apple M1", "Apple M1 Pro", "Apple M1 Max", "Apple M1 Ultra"
    }
    with pytest.raises(ValueError, match="Unknown chip family 'M9'"):
        load_chips("M9")


def test_sources_table_links_sources_and_never_fills_gaps():
    table = sources_table(load_chips("Apple M1"), {"chip": "Chip", "memory_bandwidth_gbs": "GB/s"})
    lines = table.splitlines()
    assert lines[0] == "| Chip | GB/s | Source |"
    assert len(lines) == 2 + 4
    assert "| Apple M1 | not stated | [" in table
    assert "| Apple M1 Pro | 200 | [" in table
    with pytest.raises(KeyError, match="Unknown column"):
        sources_table(load_chips(), {"speed": "Speed"})
