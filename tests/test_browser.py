"""The built HTML book, opened in a real headless Chromium (Debian's ``chromium``, driven by
Playwright), as a reader on a laptop (1280 px) and on a phone (390 px) would open it.

For every page in ``_toc.yml`` (the API pages included), at both widths: no JavaScript error or
console error, no failed request, nothing fetched from outside the book (it must read offline),
no sideways page scroll (wide tables and code scroll inside their own box), every image loaded,
no broken internal link, math typeset by the local MathJax; the navigation works (1280 px: the
"Toggle primary sidebar" button hides and shows the chapter list; 390 px: the ☰ drawer and the
"Contents" drawer open). Book-wide: every figure is legible by the rule of ``cnnbook.plot``
(shown at its displayed width, its smallest text stays at least ``plot.MIN_TEXT_PX`` high), no
output is a table printed as fixed-width text, every glossary link resolves, and every chapter
has at least four exercises whose solutions are folded, open on click, and are linked both ways.

The book is built by ``scripts/dev test`` before pytest runs (``scripts/dev book`` alone builds
it too). Without a built book or a browser the tests fail when ``CI`` is set, and are skipped
with the reason otherwise.
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
HTML = Path(os.environ.get("CNNBOOK_HTML", ROOT / "_build" / "html"))  # the built book
pytestmark = pytest.mark.browser

WIDTHS = {"laptop": (1280, 900), "phone": (390, 844)}
CHAPTER = re.compile(r"book/\d\d_")
MIN_EXERCISES = 4

#: The glossary defines exactly these terms (the book-wide convention of issue 13).
GLOSSARY_TERMS = [
    "convolution", "cross-correlation", "channel", "filter", "kernel", "stride", "padding",
    "feature map", "activation map", "pooling", "receptive field", "global receptive field",
    "flatten", "fully connected layer", "parameter sharing", "spatial information",
    "convolutional neural network", "top-1 accuracy", "top-5 accuracy", "pretrained model",
    "transfer learning", "feature extraction", "fine-tuning", "inception module", "degradation",
    "vanishing gradient", "exploding gradient", "Xavier initialisation", "He initialisation",
    "batch normalisation", "residual", "residual learning", "shortcut connection",
    "highway network", "pre-activation", "neural architecture search", "controller", "reward",
    "search space", "normal cell", "reduction cell", "separable convolution", "transferability",
    "squeeze", "excitation", "squeeze-and-excitation block", "reduction ratio",
    "model complexity", "computational complexity", "dropout", "softmax", "cross-entropy",
    "epoch", "mini-batch", "multiply-add",
]


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


def _toc_entries(entries: list[dict]) -> list[str]:
    files = []
    for entry in entries:
        if "file" in entry:
            files.append(entry["file"])
        if "glob" in entry:
            files += sorted(p.relative_to(ROOT).with_suffix("").as_posix()
                            for p in ROOT.glob(entry["glob"]) if p.suffix in (".md", ".ipynb"))
        files += _toc_entries(entry.get("sections", []))
    return files


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += _toc_entries(part.get("chapters", []))
    return [p + ".html" for p in dict.fromkeys(pages)]


def _chapter_pages() -> list[str]:
    return [p for p in _toc_pages() if CHAPTER.match(p)]


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


# ---------------------------------------------------------------- pure checks (tested below)
def legible_scale() -> float:
    """The smallest display scale (displayed width / natural width) that keeps a figure's
    smallest text (``plot.MIN_FONT_PT`` at ``plot.DPI``) at least ``plot.MIN_TEXT_PX`` high."""
    from cnnbook import plot

    return plot.MIN_TEXT_PX / (plot.MIN_FONT_PT * plot.DPI / 72)


def illegible(images: list[dict]) -> list[str]:
    """Images shown so much smaller than drawn that their smallest text breaks the rule:
    ``MIN_FONT_PT * DPI / 72 * displayed / natural >= MIN_TEXT_PX``."""
    from cnnbook import plot

    bad = []
    for im in images:
        if not im["natural"] or not im["displayed"]:
            continue
        scale = im["displayed"] / im["natural"]
        text_px = plot.MIN_FONT_PT * plot.DPI / 72 * scale
        if text_px < plot.MIN_TEXT_PX - 1e-9:
            bad.append(f"{im['where']}: {im['natural']} px wide shown at {im['displayed']:.0f} px "
                       f"(scale {scale:.2f}): {plot.MIN_FONT_PT:g} pt text is {text_px:.1f} px "
                       f"< {plot.MIN_TEXT_PX:g} px; draw it at most "
                       f"{im['displayed'] / legible_scale() / plot.DPI:.1f} in wide")
    return bad


_COLUMN_GAP = re.compile(r"(?<=\S) {2,}(?=\S)")


def looks_like_text_table(text: str) -> str | None:
    """A text output that is a table printed with fixed widths: at least 3 lines (in a run of
    consecutive non-blank lines) with 2+ columns separated by 2+ spaces, sharing a column start
    (or a ``---`` rule between a header and rows). NumPy array reprs (``[[ 1.  0.]``) and Keras's
    box-drawn model summaries are not counted. Returns the first offending lines, or None."""
    blocks, block = [], []
    for line in text.splitlines() + [""]:
        if line.strip():
            block.append(line)
        else:
            if block:
                blocks.append(block)
            block = []
    for block in blocks:
        rows = []
        for line in block:
            s = line.strip()
            if s.startswith("[") or s.endswith("]") or any(c in line for c in "│┃━─┏┡└"):
                continue
            starts = {m.end() for m in _COLUMN_GAP.finditer(line)}
            if starts:
                rows.append((line, starts))
        if len(rows) < 3:
            continue
        counts: dict[int, int] = {}
        for _, starts in rows:
            for s in starts:
                counts[s] = counts.get(s, 0) + 1
        ruled = any(re.fullmatch(r"[-=\s|+]{5,}", line.strip()) for line in block)
        if max(counts.values()) >= 3 or ruled:
            return "\n".join(line for line, _ in rows[:3])
    return None


# ---------------------------------------------------------------- fixtures
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


class Visit:
    """A page opened offline at one width, recording errors, failed and outside requests."""

    def __init__(self, browser, server: str, page_path: str, width: str = "laptop"):
        w, h = WIDTHS[width]
        self.server, self.path, self.width = server, page_path, width
        self.page = browser.new_page(viewport={"width": w, "height": h})
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []

        def route(r):
            if r.request.url.startswith(server):
                r.continue_()
            else:
                self.external.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.on("pageerror", lambda e: self.errors.append(f"JavaScript error: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("requestfailed", lambda r: None if r.url in self.external
                     else self.failed.append(f"{r.failure} {r.url}"))
        self.page.goto(server + page_path, wait_until="load")
        self.page.wait_for_timeout(200)  # deferred theme scripts, favicon

    def where(self) -> str:
        return f"{self.path} at {WIDTHS[self.width][0]} px"

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser, server):
    opened: list[Visit] = []

    def _open(page_path: str, width: str = "laptop") -> Visit:
        v = Visit(browser, server, page_path, width)
        opened.append(v)
        return v

    yield _open
    for v in opened:
        v.close()


# ---------------------------------------------------------------- every page, both widths
_OVERFLOW = """() => {
  const W = document.documentElement.clientWidth, out = [];
  for (const el of document.querySelectorAll('.bd-article *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= W + 1) continue;
    let p = el.parentElement, boxed = false;
    while (p) {
      const s = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) { boxed = true; break; }
      p = p.parentElement;
    }
    if (!boxed) out.push(`<${el.tagName.toLowerCase()} class="${el.className}"> ends at ` +
                         `${Math.round(r.right)} px: ${(el.textContent || '').trim().slice(0, 50)}`);
  }
  return [document.documentElement.scrollWidth, W, out.slice(0, 3)];
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("page_path", _toc_pages())
def test_page_health(visit, page_path, width):
    """Title, math, images, width, links and glossary links, then the navigation;
    no console error, failed request or outside request on the way."""
    v = visit(page_path, width)
    page = v.page
    title = page.title()
    h1 = page.locator("main h1").first.inner_text().strip()
    assert title and h1, f"{v.where()}: no title"

    # math: every formula Sphinx emitted has been typeset by MathJax (no raw TeX left)
    n_math = page.locator("main .math").count()
    if n_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.locator("main mjx-container").count()
        assert typeset >= n_math, f"{v.where()}: {n_math} formulas, {typeset} typeset"
        raw = page.locator("main").inner_text()
        assert "\\begin{" not in raw and not re.search(r"\\\(|\\\[", raw), f"{v.where()}: raw TeX visible"

    # figures: every image has loaded and has a size
    images = page.evaluate(
        "() => Array.from(document.querySelectorAll('main img')).map(i => [i.src, i.complete, i.naturalWidth])")
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert not broken, f"{v.where()}: images not loaded: {broken[:3]}"

    # no sideways scrolling of the page itself; wide things scroll inside their own box
    scroll_w, view_w, culprits = page.evaluate(_OVERFLOW)
    assert scroll_w <= view_w, (f"{v.where()}: the page is {scroll_w} px wide in a {view_w} px "
                                f"window (scrolls sideways); widest: {culprits}")

    if width == "laptop":
        # internal links point to existing pages and anchors
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        page_url = v.server + page_path
        dead = []
        for href in hrefs:
            url = urljoin(page_url, href)
            if not url.startswith(v.server):
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
        assert not dead, f"{v.where()}: broken internal links: {dead[:5]}"
        _check_glossary_links(v)
        if CHAPTER.match(page_path):  # says in one line how to run it
            assert page.locator("main p.cnnbook-run-note").count() == 1, f"{v.where()}: no run-it note"
        if page_path.startswith("book/api/"):  # readable signatures, no build-machine paths
            sigs = page.evaluate("() => Array.from(document.querySelectorAll('main dt.sig'))"
                                 ".map(d => d.innerText)")
            internal = [t for t in sigs if re.search(r"keras\.src|<class '|object at 0x", t)]
            assert not internal, f"{v.where()}: signatures with interpreter internals: {internal[:3]}"
            text = page.locator("main").inner_text()
            # (generic places such as Keras's fallback /tmp/.keras may be named in prose)
            paths = re.findall(r"(?:PosixPath\(|/(?:home|root|work|Users)/)[^\s)']*", text)
            assert not paths, f"{v.where()}: machine paths on the page: {paths[:3]}"

    _check_navigation(v)
    page.wait_for_timeout(100)
    assert not v.errors, f"{v.where()}: console errors: {v.errors[:5]}"
    assert not v.failed, f"{v.where()}: failed requests: {v.failed[:5]}"
    assert not v.external, f"{v.where()}: requests outside the book: {v.external[:5]}"


_PRIMARY = """() => {
  const s = document.getElementById('pst-primary-sidebar'), r = s.getBoundingClientRect();
  return {hidden: s.classList.contains('pst-sidebar-hidden'), visibility: getComputedStyle(s).visibility,
          right: r.right, width: r.width};
}"""
_DIALOG = """(id) => {
  const d = document.getElementById(id);
  if (!d) return null;
  const r = d.getBoundingClientRect();
  const links = Array.from(d.querySelectorAll('a[href]')).filter(a => a.getBoundingClientRect().width > 0);
  return {open: d.open, width: r.width, links: links.length};
}"""


def _visible(page, selector: str):
    found = [loc for loc in page.locator(selector).all() if loc.is_visible()]
    return found[0] if found else None


def _check_navigation(v: Visit) -> None:
    """1280 px: "Toggle primary sidebar" hides the chapter list and brings it back.
    390 px: the ☰ button opens the chapter-list drawer, "Contents" the page-contents drawer."""
    page = v.page
    if v.width == "laptop":
        toggle = _visible(page, "button.primary-toggle")
        assert toggle is not None, f"{v.where()}: no visible 'Toggle primary sidebar' button"
        before = page.evaluate(_PRIMARY)
        assert before["visibility"] == "visible" and before["width"] > 100, f"{v.where()}: no sidebar: {before}"
        toggle.click()
        page.wait_for_timeout(400)
        after = page.evaluate(_PRIMARY)
        assert after["hidden"] and (after["visibility"] == "hidden" or after["right"] <= 0), (
            f"{v.where()}: 'Toggle primary sidebar' did not hide the sidebar: {after}")
        toggle.click()
        page.wait_for_timeout(400)
        again = page.evaluate(_PRIMARY)
        assert not again["hidden"] and again["visibility"] == "visible", f"{v.where()}: sidebar did not come back"
        return
    menu = _visible(page, "button.primary-toggle")
    assert menu is not None, f"{v.where()}: no visible ☰ button"
    menu.click()
    page.wait_for_timeout(300)
    drawer = page.evaluate(_DIALOG, "pst-primary-sidebar-modal")
    assert drawer and drawer["open"] and drawer["width"] > 100 and drawer["links"] >= 8, (
        f"{v.where()}: the ☰ drawer did not open with the chapter list: {drawer}")
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert not page.evaluate(_DIALOG, "pst-primary-sidebar-modal")["open"], f"{v.where()}: drawer stays open"
    contents = _visible(page, "button.secondary-toggle")
    has_toc = page.locator("#pst-secondary-sidebar nav.page-toc a").count() > 0
    if CHAPTER.match(v.path):
        assert contents is not None and has_toc, f"{v.where()}: no 'Contents' button for a chapter"
    if contents is not None:
        contents.click()
        page.wait_for_timeout(300)
        drawer = page.evaluate(_DIALOG, "pst-secondary-sidebar-modal")
        assert drawer and drawer["open"] and drawer["width"] > 100 and (drawer["links"] > 0 or not has_toc), (
            f"{v.where()}: the 'Contents' drawer did not open: {drawer}")
        page.keyboard.press("Escape")


# ---------------------------------------------------------------- figures, tables, glossary, exercises
_COLUMN = """() => {
  const a = document.querySelector('.bd-article'); const s = getComputedStyle(a);
  return a.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
}"""
_IMAGES = """() => Array.from(document.querySelectorAll('main img')).map((i, k) => ({
  where: `image ${k + 1} (${(i.closest('.cell') || i.parentElement).id || i.alt || i.src.split('/').pop()})`,
  natural: i.naturalWidth, displayed: i.getBoundingClientRect().width}))"""


def test_text_column_holds_a_column_wide_figure(visit):
    """The rule assumes a text column of about ``plot.COLUMN_WIDTH_IN * plot.DPI`` px at 1280 px;
    a figure drawn exactly that wide must stay legible in the column the theme really gives."""
    from cnnbook import plot

    v = visit(_chapter_pages()[0], "laptop")
    column = v.page.evaluate(_COLUMN)
    drawn = plot.COLUMN_WIDTH_IN * plot.DPI
    shown = min(column, drawn)
    print(f"text column at 1280 px: {column:.0f} px (the rule assumes {drawn:.0f} px)")
    assert illegible([{"where": "a column-wide figure", "natural": drawn, "displayed": shown}]) == []


@pytest.mark.parametrize("page_path", _chapter_pages())
def test_figures_are_legible(visit, page_path):
    """At 1280 px every image is shown at a scale that keeps the smallest text readable."""
    v = visit(page_path, "laptop")
    bad = illegible([dict(im, where=f"{page_path} {im['where']}") for im in v.page.evaluate(_IMAGES)])
    assert not bad, "figures drawn too wide for the column:\n" + "\n".join(bad)


@pytest.mark.parametrize("page_path", _chapter_pages())
def test_tables_are_html_tables(visit, page_path):
    """No output is a table printed as fixed-width text: tables are HTML tables."""
    v = visit(page_path, "laptop")
    outputs = v.page.evaluate(
        "() => Array.from(document.querySelectorAll('main .cell_output pre, main .output pre'))"
        ".map(p => [(p.closest('.cell') || p).id, p.innerText])")
    found = [f"{page_path} {cell or 'output'}:\n{hit}" for cell, text in outputs
             if (hit := looks_like_text_table(text))]
    assert not found, "tables printed as text (use plot.table):\n" + "\n\n".join(found[:5])


def test_glossary_defines_exactly_the_terms(visit):
    v = visit("book/glossary.html", "laptop")
    terms = v.page.evaluate("() => Array.from(document.querySelectorAll('main dl.glossary > dt'))"
                            ".map(dt => dt.firstChild.textContent.trim())")
    assert sorted(t.lower() for t in terms) == sorted(t.lower() for t in GLOSSARY_TERMS)
    no_link = v.page.evaluate(
        "() => Array.from(document.querySelectorAll('main dl.glossary > dt')).filter(dt =>"
        " !Array.from(dt.nextElementSibling.querySelectorAll('a.internal'))"
        ".some(a => /book\\/\\d\\d_|\\d\\d_[a-z]/.test(a.getAttribute('href'))))"
        ".map(dt => dt.textContent.trim())")
    assert not no_link, f"glossary entries without a link to a chapter: {no_link}"


def _check_glossary_links(v: Visit) -> None:
    """Every {term} reference is a link, and it lands on a term of the glossary page."""
    unresolved = v.page.evaluate("() => Array.from(document.querySelectorAll('main .std-term'))"
                                 ".filter(s => !s.closest('a')).map(s => s.textContent)")
    assert not unresolved, f"{v.path}: glossary terms without a link: {unresolved[:5]}"
    hrefs = v.page.evaluate("() => Array.from(document.querySelectorAll('main a'))"
                            ".filter(a => a.querySelector('.std-term')).map(a => a.href)")
    glossary_ids = _ids_of(HTML / "book" / "glossary.html")
    bad = [h for h in hrefs if not urlparse(h).path.endswith("/book/glossary.html")
           or urlparse(h).fragment not in glossary_ids]
    assert not bad, f"{v.path}: glossary links that do not land on a term: {bad[:5]}"


@pytest.mark.parametrize("page_path", _chapter_pages())
def test_exercises_with_folded_linked_solutions(visit, page_path):
    v = visit(page_path, "laptop")
    page = v.page
    exercises = page.evaluate("() => Array.from(document.querySelectorAll('main div.exercise')).map(e => e.id)")
    assert len(exercises) >= MIN_EXERCISES, f"{page_path}: {len(exercises)} exercises (at least {MIN_EXERCISES})"
    solutions = page.evaluate(
        "() => Array.from(document.querySelectorAll('main div.solution')).map(s => ({id: s.id,"
        " folded: s.classList.contains('toggle-hidden'),"
        " bodyShown: Array.from(s.children).slice(1).some(c => c.getBoundingClientRect().height > 0),"
        " to: (s.querySelector('.admonition-title a.internal') || {}).getAttribute?.call("
        "s.querySelector('.admonition-title a.internal'), 'href')}))")
    by_target = {s["to"]: s for s in solutions if s["to"]}
    for ex in exercises:
        sol = by_target.get(f"#{ex}")
        assert sol is not None, f"{page_path}: exercise {ex} has no solution linking to it"
        assert sol["folded"] and not sol["bodyShown"], f"{page_path}: solution {sol['id']} is not folded on load"
        back = page.locator(f"#{ex} a.internal[href='#{sol['id']}']")
        assert back.count() == 1, f"{page_path}: exercise {ex} has no link to its solution {sol['id']}"
    # open one solution by its toggle, and follow both links of another
    first = solutions[0]["id"]
    page.locator(f"#{first} button.toggle-button").click()
    page.wait_for_timeout(300)
    shown = page.evaluate(f"() => !document.getElementById('{first}').classList.contains('toggle-hidden')")
    assert shown, f"{page_path}: solution {first} does not open on click"
    ex = exercises[-1]
    sol = by_target[f"#{ex}"]["id"]
    page.locator(f"#{ex} a.internal[href='#{sol}']").click()
    page.wait_for_timeout(300)
    assert page.evaluate("() => location.hash") == f"#{sol}"
    assert page.evaluate(f"() => !document.getElementById('{sol}').classList.contains('toggle-hidden')"), (
        f"{page_path}: following the link to {sol} does not unfold it")
    page.locator(f"#{sol} .admonition-title a.internal").click()
    page.wait_for_timeout(300)
    assert page.evaluate("() => location.hash") == f"#{ex}"
    assert not v.errors, f"{page_path}: console errors: {v.errors[:5]}"


# ---------------------------------------------------------------- the checks themselves
def test_legibility_rule():
    from cnnbook import plot

    column = plot.COLUMN_WIDTH_IN * plot.DPI
    ok = {"where": "ok", "natural": column, "displayed": column * legible_scale()}
    small = {"where": "small", "natural": 2 * column, "displayed": column}
    assert illegible([ok]) == []
    assert len(illegible([small])) == 1 and "small" in illegible([small])[0]


def test_text_table_detector():
    printed = ("model        params (M)   top-1\n"
               "-----------  ----------  ------\n"
               "VGG16             138.4   0.713\n"
               "ResNet50           25.6   0.749\n")
    assert looks_like_text_table(printed)
    assert looks_like_text_table("a  b  c\n1  2  3\n4  5  6\n")
    assert looks_like_text_table("[[ 1.  0. -1.]\n [ 2.  0. -2.]\n [ 1.  0. -1.]]") is None
    assert looks_like_text_table("epoch 1: loss 0.52\nepoch 2: loss 0.31\nepoch 3: loss 0.20\n") is None
    assert looks_like_text_table("one sentence of output.\nanother one.\n") is None


def test_toc_pages_include_the_api_pages():
    pages = _toc_pages()
    assert "book/api.html" in pages and any(p.startswith("book/api/cnnbook.") for p in pages)
    assert "book/glossary.html" in pages
    # every public module of the package has its reference page (book/api/cnnbook.<module>.md)
    pkg = ROOT / "cnnbook"
    modules = {"cnnbook." + p.relative_to(pkg).with_suffix("").as_posix().replace("/", ".")
               .removesuffix(".__init__") for p in pkg.rglob("*.py")
               if not any(part.startswith("_") for part in p.relative_to(pkg).with_suffix("").parts)
               or p.name == "__init__.py" and p.parent != pkg}
    missing = sorted(m for m in modules if f"book/api/{m}.html" not in pages)
    assert not missing, f"modules without an API page (add book/api/<module>.md): {missing}"


def test_animations_play_offline(server, browser):
    """Every embedded matplotlib animation steps and plays in the browser, with no network."""
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    found = 0
    for page_path in _chapter_pages():
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


def test_every_chapter_page_has_figures(server, browser):
    """Chapter notebooks draw their figures: each chapter page shows at least one image."""
    page = browser.new_page()
    for page_path in _chapter_pages():
        page.goto(server + page_path, wait_until="load")
        assert page.locator("main img").count() >= 1, f"{page_path} shows no figure"
    page.close()
