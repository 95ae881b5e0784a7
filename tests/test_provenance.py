import re

from mpsbook.provenance import FIELDS, machine_info, provenance_banner


def test_banner_has_every_field_once():
    banner = provenance_banner("cpu")
    lines = banner.splitlines()
    assert lines[0].startswith("Provenance")
    assert [line.split(":", 1)[0].strip() for line in lines[1:]] == list(FIELDS)


def test_machine_info_describes_the_cpu_run():
    info = machine_info("cpu")
    assert info["Device"].startswith("cpu · ")
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["Python"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", info["Executed"])
    assert all(value.strip() for value in info.values())


def test_the_banner_says_how_busy_the_machine_was():
    assert re.search(r"torch uses \d+, load average \d+\.\d$", machine_info("cpu")["CPU"])
