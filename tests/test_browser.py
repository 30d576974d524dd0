"""The demo's HTML report in a real headless Chromium (Debian's ``chromium``, driven by playwright).

Skips when no Chromium or playwright is installed, unless ``SEGENGINE_REQUIRE_BROWSER=1`` (set by
``.ci/run``), where a missing browser is a failure. Run as a script to remake the README's
screenshot: ``python tests/test_browser.py docs/demo-report.png``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CHARTS = ("silhouette", "sizes", "heatmap", "projection", "confidence")


def chromium_path() -> str | None:
    for candidate in (os.environ.get("SEGENGINE_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _require_browser() -> str:
    reasons = []
    path = chromium_path()
    if path is None:
        reasons.append("no chromium executable (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is not installed (pip install '.[test]')")
    try:
        import PIL  # noqa: F401
    except ImportError:
        reasons.append("Pillow is not installed (it comes with matplotlib)")
    if reasons:
        message = "browser test needs: " + "; ".join(reasons)
        if os.environ.get("SEGENGINE_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (SEGENGINE_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return path


def write_demo_html(folder: Path, n: int = 10_000) -> Path:
    """Write the demo's HTML report with the command line, as a user would."""
    target = folder / "demo.html"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "segengine", "demo", "--n", str(n), "--html", str(target)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr
    return target


class Browser:
    """A fresh Chromium profile; records every request and console message of its pages."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900) -> None:
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="segengine-chromium-")
        self._pw = sync_playwright().start()
        self.context = self._pw.chromium.launch_persistent_context(
            self._profile, executable_path=executable, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": width, "height": height}, device_scale_factor=1,
        )
        self.requests: list[str] = []
        self.console: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))

    def open(self, url: str):
        page = self.context.new_page()
        page.on("console",
                lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.goto(url, wait_until="load")
        return page

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self._pw.stop()
            shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory):
    executable = _require_browser()
    html = write_demo_html(tmp_path_factory.mktemp("browser"))
    browser = Browser(executable)
    try:
        page = browser.open(html.as_uri())
        yield browser, page, html
    finally:
        browser.close()


def _image(png: bytes):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def test_no_console_errors_and_no_network(demo_page):
    browser, page, html = demo_page
    assert page.title()
    assert browser.console == []
    assert browser.requests == [html.as_uri()]  # the page itself, nothing else
    resources = page.evaluate("performance.getEntriesByType('resource').length")
    assert resources == 0
    assert page.evaluate("document.scripts.length") == 0


def test_every_chart_has_a_box(demo_page):
    _, page, _ = demo_page
    for chart in CHARTS:
        box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
        assert box is not None, chart
        assert box["width"] > 300 and box["height"] > 100, (chart, box)
    # The marks themselves are laid out too, not only the boxes around them.
    assert page.locator("svg[data-chart=projection] g.points circle").count() >= 3000 - 40
    dot = page.locator("svg[data-chart=projection] g.points circle").first.bounding_box()
    assert dot["width"] > 1 and dot["height"] > 1
    bar = page.locator("svg[data-chart=sizes] rect.bar").first.bounding_box()
    assert bar["width"] > 100


def test_charts_are_drawn_not_blank(demo_page):
    browser, page, _ = demo_page
    size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = _image(page.screenshot(full_page=True))
    blank_page = browser.context.new_page()
    blank_page.set_viewport_size({"width": size[0], "height": size[1]})
    blank_page.goto("about:blank")
    blank = _image(blank_page.screenshot(full_page=True))
    blank_page.close()
    assert shot.shape == blank.shape, (shot.shape, blank.shape)
    for chart in CHARTS:
        box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
        scroll = page.evaluate("window.scrollY")
        x0, y0 = int(box["x"]), int(box["y"] + scroll)
        x1, y1 = int(box["x"] + box["width"]), int(box["y"] + scroll + box["height"])
        region, empty = shot[y0:y1, x0:x1], blank[y0:y1, x0:x1]
        changed = (abs(region - empty).sum(axis=2) > 30).mean()
        assert changed > 0.02, (chart, changed)
        colours = {tuple(c) for c in region.reshape(-1, 3)[:: 7].tolist()}
        assert len(colours) > 20, chart  # colour, not a flat fill


def test_print_keeps_charts_and_tables(demo_page):
    _, page, _ = demo_page
    page.emulate_media(media="print")
    try:
        for chart in CHARTS:
            box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
            assert box and box["width"] > 200
        tables = page.locator("table")
        assert tables.count() >= len(CHARTS)
        for i in range(tables.count()):
            assert tables.nth(i).bounding_box()["height"] > 20
    finally:
        page.emulate_media(media="screen")


def test_a_missing_browser_skips_or_fails_as_configured(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "chromium_path", lambda: None)
    monkeypatch.delenv("SEGENGINE_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        _require_browser()
    monkeypatch.setenv("SEGENGINE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="SEGENGINE_REQUIRE_BROWSER=1"):
        _require_browser()


def save_screenshot(target: Path, n: int = 10_000, height: int = 1750) -> None:
    """Render the demo page and save the top of it (overview, silhouette, sizes, profile) as PNG."""
    executable = chromium_path()
    if executable is None:
        raise SystemExit("no chromium found")
    with tempfile.TemporaryDirectory() as folder:
        html = write_demo_html(Path(folder), n)
        browser = Browser(executable, width=1280, height=height)
        try:
            page = browser.open(html.as_uri())
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=False)
        finally:
            browser.close()


if __name__ == "__main__":  # pragma: no cover
    save_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "demo-report.png"))
