"""The built HTML book, opened in a real headless Chromium (Debian's ``chromium``, driven by
Playwright). For every page in ``_toc.yml``: the title is there, the math is typeset by the local
MathJax, every image has loaded, no internal link is broken, and nothing is fetched from outside
the book (it must read offline).

The book is built by ``scripts/dev test`` before pytest runs (``scripts/dev book`` alone builds
it too). Without a built book or a browser the test fails when ``CI`` is set, and is skipped with
the reason otherwise.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
pytestmark = pytest.mark.browser


def _need(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", [])]
    return [p + ".html" for p in dict.fromkeys(pages)]


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=None)
def _ids_of(path: Path) -> frozenset[str]:
    p = _Ids()
    p.feed(path.read_text(encoding="utf-8"))
    return frozenset(p.ids)


@pytest.fixture(scope="module")
def server():
    _need((HTML / "book" / "intro.html").exists(), f"the book is not built ({HTML}); run scripts/dev book")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    _need(exe is not None, "no Chromium on PATH (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.mark.parametrize("page_path", _toc_pages())
def test_page_renders_offline(server, browser, page_path):
    page = browser.new_page()
    external: list[str] = []
    failed: list[str] = []

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("response", lambda resp: failed.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None)
    page.goto(server + page_path, wait_until="load")

    title = page.title()
    h1 = page.locator("main h1").first.inner_text().strip()
    assert title and h1, f"{page_path}: no title"

    # math: every formula Sphinx emitted has been typeset by MathJax (no raw TeX left)
    n_math = page.locator("main .math").count()
    if n_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.locator("main mjx-container").count()
        assert typeset >= n_math, f"{page_path}: {n_math} formulas, {typeset} typeset"
        raw = page.locator("main").inner_text()
        assert "\\begin{" not in raw and not re.search(r"\\\(|\\\[", raw), f"{page_path}: raw TeX visible"

    # figures: every image has loaded and has a size
    images = page.evaluate(
        "() => Array.from(document.querySelectorAll('main img')).map(i => [i.src, i.complete, i.naturalWidth])"
    )
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"{page_path}: images not loaded: {broken[:3]}"

    # internal links point to existing pages and anchors
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    page_url = server + page_path
    dead = []
    for href in hrefs:
        url = urljoin(page_url, href)
        if not url.startswith(server):
            continue
        parsed = urlparse(url)
        rel = unquote(parsed.path)[1:] or "index.html"
        target = HTML / rel
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            dead.append(href)
        elif parsed.fragment and target.suffix == ".html" and parsed.fragment not in _ids_of(target):
            dead.append(href)
    assert not dead, f"{page_path}: broken internal links: {dead[:5]}"

    assert not failed, f"{page_path}: failed requests: {failed[:5]}"
    assert not external, f"{page_path}: requests outside the book: {external[:5]}"
    page.close()


def test_every_chapter_page_has_figures(server, browser):
    """Chapter notebooks draw their figures: each chapter page shows at least one image."""
    page = browser.new_page()
    for page_path in _toc_pages():
        if not re.match(r"book/\d\d_", page_path):
            continue
        page.goto(server + page_path, wait_until="load")
        assert page.locator("main img").count() >= 1, f"{page_path} shows no figure"
    page.close()


def test_animations_play_offline(server, browser):
    """Every embedded matplotlib animation steps and plays in the browser, with no network."""
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    found = 0
    for page_path in _toc_pages():
        page.goto(server + page_path, wait_until="load")
        for anim in page.locator("main div.animation").all():
            found += 1
            img = anim.locator("img").first
            pause = anim.locator("button[onclick$='.pause_animation()']")
            pause.click()
            anim.locator("button[onclick$='.first_frame()']").click()
            first = img.get_attribute("src")
            anim.locator("button[onclick$='.next_frame()']").click()
            second = img.get_attribute("src")
            assert first and second and first != second, f"{page_path}: next frame shows the same image"
            anim.locator("button[onclick$='.play_animation()']").click()
            page.wait_for_timeout(1500)
            assert img.get_attribute("src") != second, f"{page_path}: the animation does not play"
            pause.click()
    page.close()
    assert found >= 1, "the book embeds no animation (chapter 2 should show the sliding window)"
