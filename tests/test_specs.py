import pytest

from mpsbook.specs import COLUMNS, FP32_ALUS_PER_CORE, NUMERIC, fp32_tflops, gpu_configs, load_chips, sources_table

APPLE_FAMILIES = {
    "Apple M1": {"Apple M1", "Apple M1 Pro", "Apple M1 Max", "Apple M1 Ultra"},
    "Apple M2": {"Apple M2", "Apple M2 Pro", "Apple M2 Max", "Apple M2 Ultra"},
    "Apple M3": {"Apple M3", "Apple M3 Pro", "Apple M3 Max", "Apple M3 Ultra"},
    "Apple M4": {"Apple M4", "Apple M4 Pro", "Apple M4 Max"},  # Apple made no M4 Ultra
    "Apple M5": {"Apple M5", "Apple M5 Pro", "Apple M5 Max"},  # no M5 Ultra confirmed (see chips_NOTES.md)
}


def test_every_row_has_a_source_and_typed_figures():
    rows = load_chips()
    assert len(rows) >= 19
    for row in rows:
        assert tuple(row) == COLUMNS
        assert str(row["source_url"]).startswith("https://"), row["chip"]
        assert row["source_title"], row["chip"]
        for key in NUMERIC:
            assert row[key] is None or row[key] > 0, (row["chip"], key)


def test_apple_families_m1_to_m5_are_present():
    for family, chips in APPLE_FAMILIES.items():
        assert {row["chip"] for row in load_chips(family)} == chips, family


def test_derived_peaks_are_cores_times_alus_times_two_times_clock_with_a_source():
    assert FP32_ALUS_PER_CORE == 128
    for row in load_chips():
        if not str(row["chip"]).startswith("Apple"):
            assert row["gpu_fp32_tflops_derived"] is None and row["gpu_clock_mhz"] is None
            continue
        assert row["gpu_clock_mhz"], row["chip"]
        assert str(row["gpu_clock_source_url"]).startswith("https://"), row["chip"]
        assert row["gpu_clock_note"], row["chip"]
        expected = row["gpu_cores"] * 128 * 2 * row["gpu_clock_mhz"] / 1e6
        assert row["gpu_fp32_tflops_derived"] == pytest.approx(expected, abs=5e-4), row["chip"]
    assert fp32_tflops(8, 1278) == pytest.approx(2.617, abs=1e-3)  # metal-benchmarks: M1 2617 GOPS32


def test_derivation_agrees_with_apples_stated_figures():
    chips = {row["chip"]: row for row in load_chips()}
    for name in ("Apple M1", "Apple M2 Ultra"):  # the two Apple chips with an Apple float32 figure
        stated, derived = chips[name]["gpu_fp32_tflops"], chips[name]["gpu_fp32_tflops_derived"]
        assert derived == pytest.approx(stated, rel=0.01), name


def test_gpu_configurations():
    chips = {row["chip"]: row for row in load_chips()}
    assert gpu_configs(chips["Apple M1"]) == {8: None, 7: None}
    assert gpu_configs(chips["Apple M3 Max"]) == {40: 400, 30: 300}
    assert gpu_configs(chips["Apple M5"]) == {10: 153}
    assert gpu_configs(chips["NVIDIA H100 SXM"]) == {}


def test_published_figures_the_book_relies_on():
    chips = {row["chip"]: row for row in load_chips()}
    assert chips["Apple M1"]["neural_engine_tops"] == 11
    assert chips["Apple M1"]["memory_bandwidth_gbs"] is None  # Apple never stated it as a number
    assert chips["Apple M1 Ultra"]["memory_bandwidth_gbs"] == 800
    assert chips["Apple M2"]["neural_engine_tops"] == 15.8
    assert (chips["Apple M4 Max"]["gpu_cores"], chips["Apple M4 Max"]["memory_bandwidth_gbs"]) == (40, 546)
    assert (chips["Apple M5 Max"]["gpu_cores"], chips["Apple M5 Max"]["memory_bandwidth_gbs"]) == (40, 614)
    for name in ("Apple M3 Pro", "Apple M3 Max", "Apple M4 Pro", "Apple M4 Max", "Apple M5"):
        assert chips[name]["neural_engine_tops"] is None, name  # no Apple TOPS figure read for these


def test_no_row_credits_a_page_its_notes_say_was_not_read():
    for row in load_chips():
        url = str(row["source_url"])
        for sentence in str(row["notes"]).split(". "):
            if "NOT read" in sentence or "NOT in the search corpus" in sentence:
                assert url not in sentence, (row["chip"], sentence)


def test_family_filter_and_unknown_family():
    assert {row["chip"] for row in load_chips("Apple M1")} == APPLE_FAMILIES["Apple M1"]
    with pytest.raises(ValueError, match="Unknown chip family 'M9'"):
        load_chips("M9")


def test_sources_table_links_sources_and_never_fills_gaps():
    table = sources_table(load_chips("Apple M1"), {"chip": "Chip", "memory_bandwidth_gbs": "GB/s"})
    lines = table.splitlines()
    assert lines[0] == "| Chip | GB/s | Source |"
    assert len(lines) == 2 + 4
    assert "| Apple M1 | not stated | [" in table
    assert "| Apple M1 Pro | 200 | [" in table
    derived = sources_table(load_chips("Apple M5"), {"chip": "Chip", "gpu_fp32_tflops_derived": "Derived TFLOPS"})
    assert "| Apple M5 Max | 16.589 | [" in derived
    with pytest.raises(KeyError, match="Unknown column"):
        sources_table(load_chips(), {"speed": "Speed"})


def test_sources_table_links_a_column_to_its_own_source():
    columns = {"chip": "Chip", "gpu_clock_mhz": "Clock (MHz)"}
    table = sources_table(load_chips("Apple M1"), columns, links={"gpu_clock_mhz": "gpu_clock_source_url"})
    m1 = next(row for row in load_chips("Apple M1") if row["chip"] == "Apple M1")
    assert f"| Apple M1 | [1278]({m1['gpu_clock_source_url']}) | [" in table
    assert sources_table(load_chips("Apple M1"), columns) == sources_table(load_chips("Apple M1"), columns, {})
    h100 = [row for row in load_chips() if row["chip"] == "NVIDIA H100 SXM"]
    linked = sources_table(h100, columns, {"gpu_clock_mhz": "gpu_clock_source_url"})
    assert "| NVIDIA H100 SXM | not stated | [" in linked, "a gap stays unlinked"
    with pytest.raises(KeyError, match="Unknown column"):
        sources_table(load_chips(), columns, links={"gpu_clock_mhz": "clock_url"})
    with pytest.raises(KeyError, match="Unknown column"):
        sources_table(load_chips(), columns, links={"gpu_cores": "gpu_clock_source_url"})
