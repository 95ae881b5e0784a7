"""tools/browser.py: `make setup` finds the browser the browser test drives, installs one, or says how."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import browser


@pytest.fixture
def no_browser(monkeypatch):
    """A machine with no Chromium/Chrome anywhere, as a Linux user without root or sudo."""
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser, "_playwright_browser", lambda: None)
    monkeypatch.setattr(browser.platform, "system", lambda: "Linux")
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    calls: list[list[str]] = []

    def run(command, **kwargs):
        calls.append(list(command))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(browser.subprocess, "run", run)
    return calls


def test_an_explicit_browser_is_used(tmp_path, monkeypatch):
    exe = tmp_path / "chrome"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("CHROMIUM", str(exe))
    assert browser.find_browser() == str(exe)


def test_an_explicit_browser_that_is_missing_is_refused_not_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "nowhere"))
    assert browser.find_browser() is None
    assert browser.main(["--find"]) == 1
    assert "is not an executable" in capsys.readouterr().err


def test_without_a_browser_or_the_rights_to_install_one_it_names_the_command(no_browser, capsys):
    assert browser.main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err == browser.HOW_TO and "apt-get install -y chromium" in err
    assert all(call[0] != "apt-get" for call in no_browser), "nothing is installed without root or sudo"


def test_as_root_on_debian_it_installs_chromium(no_browser, monkeypatch):
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    assert browser.main([]) == 1, "still no browser found afterwards (this fake install installs nothing)"
    assert ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"] in no_browser


def test_with_passwordless_sudo_it_installs_through_sudo(no_browser, monkeypatch):
    monkeypatch.setattr(
        browser.shutil, "which", lambda name: f"/usr/bin/{name}" if name in {"apt-get", "sudo"} else None
    )
    browser.main([])
    assert ["sudo", "-n", "apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"] in no_browser


def test_find_only_never_installs(no_browser, monkeypatch):
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    assert browser.main(["--find"]) == 1
    assert no_browser == []


def test_on_macos_chrome_in_applications_is_found(no_browser, monkeypatch):
    monkeypatch.setattr(browser.platform, "system", lambda: "Darwin")
    chrome = browser.MAC_APPS[0]
    monkeypatch.setattr(browser, "_executable", lambda path: path if path == chrome else None)
    assert browser.find_browser() == chrome


def test_on_macos_without_chrome_playwright_installs_its_own(no_browser, monkeypatch):
    monkeypatch.setattr(browser.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(browser, "_executable", lambda path: None)
    browser.main([])
    assert [sys.executable, "-m", "playwright", "install", "chromium"] in no_browser


def test_this_machine_has_the_browser_the_browser_test_needs():
    assert browser.find_browser(), browser.HOW_TO
