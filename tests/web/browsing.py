"""What the browser tests share: Debian's Chromium, axe-core, live servers and screenshots.

Nothing here downloads anything. Chromium is ``$CHROMIUM_PATH`` or ``chromium`` on the PATH
(Debian's package: ``/usr/bin/chromium``), never a browser fetched by Playwright; axe-core is
``$AXE_CORE_PATH`` or the copy ``scripts/setup.sh`` installs from the npm registry into
``.cache/axe``. When either is missing the browser tests are skipped with the reason -
except in CI (``CI=true``), where they fail, so a broken set-up can never pass as green.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"
AXE_DEFAULT = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
"""Flags this machine needs (toolchain notes section 5); Playwright adds a fresh profile."""

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
NARROW: ViewportSize = {"width": 320, "height": 640}
"""WCAG 1.4.10 (reflow): content fits 320 CSS pixels without scrolling sideways."""


def missing(reason: str) -> NoReturn:
    """Skip locally, but fail loudly in CI, where the set-up must have installed everything."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run the browser tests: see scripts/setup.sh)")
    pytest.skip(f"{reason}; run scripts/setup.sh to install it")


def chromium_path() -> str | None:
    """``$CHROMIUM_PATH``, else Debian's ``chromium`` on the PATH."""
    given = os.environ.get("CHROMIUM_PATH")
    if given:
        return given if os.access(given, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def axe_path() -> Path | None:
    """``$AXE_CORE_PATH`` (axe.min.js or the folder holding it), else the set-up's copy."""
    given = os.environ.get("AXE_CORE_PATH")
    if given:
        path = Path(given)
        for candidate in (path, path / "axe.min.js", path / "node_modules/axe-core/axe.min.js"):
            if candidate.is_file():
                return candidate
        return None
    return AXE_DEFAULT if AXE_DEFAULT.is_file() else None


def launch_args() -> dict[str, Any]:
    """Playwright launch options for Debian's Chromium (skips or fails without it)."""
    path = chromium_path()
    if path is None:
        missing("Chromium was not found (set CHROMIUM_PATH or install Debian's chromium)")
    return {"executable_path": path, "headless": True, "args": CHROMIUM_ARGS}


def axe_source() -> str:
    path = axe_path()
    if path is None:
        missing(f"axe-core was not found (set AXE_CORE_PATH or install it into {AXE_DEFAULT})")
    return path.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """An app served by uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", server_header=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    nodes: list[str]
    why: str = ""

    def __str__(self) -> str:
        where = "; ".join(self.nodes[:3])
        why = f" [{self.why}]" if self.why else ""
        return f"{self.page}: {self.rule} ({self.impact}) {self.help} at {where}{why}"


AXE_OPTIONS = {"resultTypes": ["violations", "incomplete"]}
"""Every rule axe runs by default: WCAG 2.0, 2.1 and 2.2 A and AA, and its best practices."""


def _found(name: str, results: list[dict[str, Any]]) -> list[Violation]:
    return [
        Violation(
            name,
            r["id"],
            r.get("impact") or "unknown",
            r["help"],
            [json.dumps(n["target"]) for n in r["nodes"]],
            next((c["message"] for n in r["nodes"][:1] for c in n.get("any", [])), ""),
        )
        for r in results
    ]


def axe_run(
    page: Any, source: str, name: str, *, exclude: tuple[str, ...] = (), only: str | None = None
) -> tuple[list[Violation], list[Violation]]:
    """Run axe-core in the page: its violations, and what it could not decide (to review).

    ``exclude`` leaves parts of the page (CSS selectors) out of the audit; ``only`` audits
    one part alone. Both are for third-party widgets only (see ``test_web_a11y.py``).
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    context: Any = {"exclude": [[s] for s in exclude]} if exclude else None
    if only is not None:
        context = {"include": [[only]]}
    raw = page.evaluate(
        "args => window.axe.run(args.context || document, args.options)",
        {"context": context, "options": AXE_OPTIONS},
    )
    return _found(name, raw["violations"]), _found(name, raw["incomplete"])


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) { return []; }
  const wide = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.getBoundingClientRect().right > width + 1 && !e.parentElement.closest(".table-wrap")) {
      wide.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : ""));
    }
  }
  return wide.length ? wide.slice(0, 5) : ["(text wider than the page)"];
}"""


def overflow(page: Any) -> list[str]:
    """What makes the page scroll sideways (nothing, when it reflows)."""
    found: list[str] = page.evaluate(OVERFLOW)
    return found


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG to ``out/screenshots/NAME.png`` (git-ignored) for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
