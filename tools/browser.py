"""Find (or install) the Chromium/Chrome that the browser test drives; `make setup` runs this.

    python tools/browser.py          # print the browser's path; install one if none is found and we can
    python tools/browser.py --find   # print the path or exit 1; never install anything

Order: $CHROMIUM, then Chromium/Chrome on the PATH, then the macOS applications, then a browser that
Playwright installed itself. With none: Debian's `chromium` package where apt-get can run as root (or with
passwordless sudo); on macOS, Playwright's own download where the network allows it. Otherwise it stops
with one sentence naming the command to run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAC_APPS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "~/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "~/Applications/Chromium.app/Contents/MacOS/Chromium",
)
HOW_TO = (
    "No Chromium or Chrome for the browser test: install one (Debian/Ubuntu: `sudo apt-get install -y chromium`; "
    "macOS: install Google Chrome, or run `.venv/bin/python -m playwright install chromium`) or set "
    "CHROMIUM=/path/to/chromium, then run `make setup` again."
)


def _executable(path: str | Path) -> str | None:
    path = Path(path).expanduser()
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def _playwright_browser() -> str | None:
    """The Chromium that `playwright install chromium` put in Playwright's cache, if any."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            return _executable(pw.chromium.executable_path)
    except Exception:  # the driver itself may be unusable here; then there is no such browser
        return None


def find_browser() -> str | None:
    """The first usable Chromium/Chrome executable, or ``None``."""
    wanted = os.environ.get("CHROMIUM")
    if wanted:  # an explicit choice is used or refused, never replaced by another browser
        return shutil.which(wanted) or _executable(wanted)
    for name in ON_PATH:
        if found := shutil.which(name):
            return found
    if platform.system() == "Darwin":
        for app in MAC_APPS:
            if found := _executable(app):
                return found
    return _playwright_browser()


def _as_root(command: list[str]) -> list[str] | None:
    """``command`` as root, or ``None`` when neither root nor passwordless sudo is at hand."""
    if os.geteuid() == 0:
        return command
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n", *command]
    return None


def install_browser() -> bool:
    """Try the one install this platform allows without asking anyone; True if a command succeeded."""
    system = platform.system()
    if system == "Linux" and shutil.which("apt-get"):
        update = _as_root(["apt-get", "update", "-qq"])
        # A CJK font too, so that the Japanese edition's screenshots are legible (the tests do not read glyphs).
        install = _as_root(["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"])
        if update is None or install is None:
            return False
        print("installing Debian's chromium for the browser test ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        return subprocess.run(update, env=env).returncode == 0 and subprocess.run(install, env=env).returncode == 0
    if system == "Darwin":
        print("no Chrome/Chromium found: trying `playwright install chromium` ...", flush=True)
        return subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"]).returncode == 0
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--find", action="store_true", help="only look; install nothing")
    args = parser.parse_args(argv)
    found = find_browser()
    if found is None and os.environ.get("CHROMIUM"):
        print(f"CHROMIUM={os.environ['CHROMIUM']} is not an executable: point it at Chromium or Chrome.",
              file=sys.stderr)
        return 1
    if found is None and not args.find and install_browser():
        found = find_browser()
    if found is None:
        print(HOW_TO, file=sys.stderr)
        return 1
    print(f"browser for the browser test: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
