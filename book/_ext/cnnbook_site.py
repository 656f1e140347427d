"""The book's own Sphinx glue: page health, the API pages, author-year bibliography labels.

Registered in ``_config.yml`` (``sphinx.local_extensions``). What it does:

* **Scripts included once.** Sphinx < 8.2 adds an inline ``<script>`` registered after the
  builder started (sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's selector)
  twice to every page: once with filename ``None`` and once with ``''``
  (sphinx-doc/sphinx#13402). The second ``const`` is a ``SyntaxError`` in the browser. The same
  fix as upstream: normalise ``None`` to ``''`` so the builder's de-duplication sees one asset.
* **Static files** of ``book/_static`` (favicon, ``cnnbook.css``) are published and the CSS is
  linked on every page.
* **"Run it yourself" line** under the title of every notebook page.
* **API pages.** ``{cnnbook-api} cnnbook.data`` writes a module's reference: its docstring, a
  summary table of its public names (``__all__``), then each name documented by autodoc.
  Signatures are cleaned of interpreter internals (``keras.src`` paths, ``<class ...>`` reprs,
  machine paths); module data whose value names a file on the build machine is shown without it.
* **Bibliography labels** in the same author-year form as the citations in the text
  (``He et al., 2016``), list sorted by author and year: ``bibtex_default_style: cnnbook``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

STATIC = Path(__file__).resolve().parent.parent / "_static"


# --- scripts included once -------------------------------------------------------------------
def _dedupe_inline_scripts() -> None:
    import sphinx
    from sphinx.builders.html import StandaloneHTMLBuilder

    if sphinx.version_info >= (8, 2) or getattr(StandaloneHTMLBuilder, "_cnnbook_dedupe", False):
        return
    original = StandaloneHTMLBuilder.add_js_file

    def add_js_file(self, filename, **kwargs):
        return original(self, filename or "", **kwargs)

    StandaloneHTMLBuilder.add_js_file = add_js_file
    StandaloneHTMLBuilder._cnnbook_dedupe = True


def _add_static(app: Sphinx) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


# --- "run it yourself" under each notebook page's title ---------------------------------------
def _run_note(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html" or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        return
    name = Path(docname).name + ".ipynb"
    note = nodes.paragraph(classes=["cnnbook-run-note"])
    note += nodes.Text("Run it yourself: ")
    note += nodes.literal(text="scripts/dev lab")
    note += nodes.Text(" in a clone of the repository, open ")
    note += nodes.literal(text=name)
    note += nodes.Text(", run all cells (a CPU is enough).")
    section.insert(1, note)


# --- short references in docstrings resolve like a reader would expect ----------------------
def _resolve_short_reference(app: Sphinx, env, node, contnode):
    """``:func:`fit``` in a ``cnnbook.train`` docstring, ``:data:`COLUMN_WIDTH_IN``` in a
    ``cnnbook.plot.images`` one: look the name up in the module, then its parent packages (the
    place a package re-exports it), then anywhere in ``cnnbook`` if exactly one object has it."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target or target.startswith("cnnbook.") and "." not in target[8:]:
        return None
    domain = env.get_domain("py")
    objects = domain.objects
    module = node.get("py:module") or ""
    if not module and node.get("refdoc", "").rsplit("/", 1)[-1].startswith("cnnbook."):
        module = node["refdoc"].rsplit("/", 1)[-1]
    candidates = []
    parts = module.split(".") if module else []
    while parts:
        candidates.append(".".join(parts) + "." + target)
        parts.pop()
    if target.startswith("cnnbook."):  # cnnbook.plot.x where x lives in cnnbook.plot.training
        tail = target.rsplit(".", 1)[-1]
        candidates += sorted(n for n in objects if n.startswith(target.rsplit(".", 1)[0] + ".")
                             and n.endswith("." + tail))
    found = next((c for c in candidates if c in objects), None)
    if found is None:
        same = [n for n in objects if n.endswith("." + target) and n.startswith("cnnbook.")]
        if len(same) > 1:  # a re-export documented twice: keep the defining module's entry
            same = [n for n in same if _defined_in(n)] or same
            if len({_obj_id(n) for n in same}) > 1:  # different objects: the ones the
                used = _modules_used_by(module)     # referring module imports from win
                same = [n for n in same if n.rpartition(".")[0] in used]
                same = same if len({_obj_id(n) for n in same}) == 1 else []
        found = same[0] if same else None
    if found is None:
        # a real but undocumented (not in __all__) name of that module: shown as code, no link
        if module and _lookup(f"{module}.{target}") is not None:
            return contnode
        import sys

        if "." not in target and any(  # a docstring shared by a re-export (nas.train_child)
                getattr(getattr(m, target, None), "__module__", None) == name
                for name, m in list(sys.modules.items()) if name.startswith("cnnbook.")):
            return contnode
        return None
    from sphinx.util.nodes import make_refnode

    entry = objects[found]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, found)


def _lookup(fullname: str):
    modname, _, attr = fullname.rpartition(".")
    try:
        return getattr(importlib.import_module(modname), attr)
    except Exception:  # noqa: BLE001 - not a module attribute (a method, say)
        return None


def _modules_used_by(modname: str) -> set[str]:
    try:
        mod = importlib.import_module(modname)
    except Exception:  # noqa: BLE001
        return set()
    used = set()
    for value in vars(mod).values():
        used.add(value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None))
    return {u for u in used if isinstance(u, str)}


def _defined_in(fullname: str) -> bool:
    return getattr(_lookup(fullname), "__module__", None) == fullname.rpartition(".")[0]


def _obj_id(fullname: str) -> int:
    return id(_lookup(fullname))


# --- per-chapter numbers: "Exercise 3.1", not the 11th exercise of the book ----------------------
_CHAPTER_DOC = re.compile(r"(?:^|/)(\d\d)_[^/]*$")


def _number_by_chapter(app: Sphinx, env) -> list[str]:
    """Sphinx numbers exercises (and other numbered items) through the whole book when the
    toctree is not numbered; chapter pages get ``chapter.k`` instead, matching their labels."""
    for docname, by_type in getattr(env, "toc_fignumbers", {}).items():
        m = _CHAPTER_DOC.search(docname)
        if not m:
            continue
        chapter = int(m.group(1))
        for figtype, numbers in by_type.items():
            ordered = sorted(numbers, key=lambda i: numbers[i])
            for k, node_id in enumerate(ordered, 1):
                numbers[node_id] = (chapter, k)
    return []


# --- exercise -> solution link -------------------------------------------------------------
def _link_solutions(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Each exercise ``ex-N-M`` ends with a link to its solution ``sol-N-M`` on the same page
    (sphinx-exercise links only the other way, from the solution's title to the exercise)."""
    ids = {i: n for n in doctree.findall(nodes.Element) for i in n.get("ids", [])}
    for ex_id, node in ids.items():
        sol_id = "sol-" + ex_id[3:]
        if not ex_id.startswith("ex-") or sol_id not in ids:
            continue
        para = nodes.paragraph(classes=["cnnbook-solution-link"])
        para += nodes.reference("", "Solution ↓", internal=True, refid=sol_id)
        node += para


# --- API pages -------------------------------------------------------------------------------
_KERAS_SRC = re.compile(r"\bkeras\.src\.(\w+)(?:\.\w+)*\.(\w+)")
_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")
_FUNC_REPR = re.compile(r"<(?:function|built-in function|bound method) ([\w.<>]+)(?: of [^>]*)? at 0x[0-9a-f]+>")
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")
_PATH_REPR = re.compile(r"(?:Posix|Windows)?Path\('[^']*'\)|'/(?:home|root|tmp|work|usr|opt)/[^']*'")


def clean_signature(text: str | None) -> str | None:
    """A signature as a reader should see it: public names, no addresses, no machine paths."""
    if not text:
        return text
    text = _CLASS_REPR.sub(r"\1", text)
    text = _FUNC_REPR.sub(lambda m: m.group(1).split(".")[-1], text)
    text = _OBJECT_REPR.sub("...", text)
    text = _PATH_REPR.sub("Path(...)", text)
    return _KERAS_SRC.sub(r"keras.\1.\2", text)


def _process_signature(app, what, name, obj, options, signature, return_annotation):
    return clean_signature(signature), clean_signature(return_annotation)


def _drop_type_docstring(app, what, name, obj, options, lines) -> None:
    """A constant without its own doc comment gets no text (not its type's, e.g. ``dict``'s)."""
    if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj) or not lines:
        return
    type_doc = inspect.getdoc(type(obj)) or ""
    if type_doc and lines[0].strip() == type_doc.splitlines()[0].strip():
        lines[:] = []


_PROSE_TYPE = re.compile(r"^:type: (\S+(?: \S+){2,})$")


def _undo_prose_type(app, what, name, obj, options, lines) -> None:
    """Napoleon reads the first line of a constant's doc comment as ``type: description``; a
    sentence with a colon in it ("The Keras versions ... checked against: ``(lowest, ...)``")
    becomes a bogus type. Put such a sentence back in front of its description."""
    if what not in ("data", "attribute", "property"):
        return
    for i, line in enumerate(lines):
        m = _PROSE_TYPE.match(line)
        if m and not re.search(r"[\[\]|]", m.group(1)):
            del lines[i]
            while lines and not lines[-1].strip():
                lines.pop()
            lines[0:1] = [f"{m.group(1)}: {lines[0]}" if lines else m.group(1)]
            return


def _machine_path(value) -> bool:
    return isinstance(value, Path) or (isinstance(value, str) and value.startswith("/"))


def _safe_data_documenters(app: Sphinx) -> None:
    from sphinx.ext.autodoc import AttributeDocumenter, DataDocumenter

    class SafeData(DataDocumenter):
        """Module data: the value is not shown when it is a path on the build machine."""

        priority = DataDocumenter.priority + 1

        def should_suppress_value_header(self) -> bool:
            return _machine_path(self.object) or super().should_suppress_value_header()

        def get_doc(self):
            # No ``#:`` comment: say nothing rather than print the docstring of the value's
            # type (``dict() -> new empty dictionary ...``).
            if not self.get_module_comment(self.objpath[-1]) and (
                    getattr(self.object, "__doc__", None) is getattr(type(self.object), "__doc__", None)):
                return []
            return super().get_doc()

    class SafeAttribute(AttributeDocumenter):
        priority = AttributeDocumenter.priority + 1

        def should_suppress_value_header(self) -> bool:
            return _machine_path(self.object) or super().should_suppress_value_header()

    app.add_autodocumenter(SafeData, override=True)
    app.add_autodocumenter(SafeAttribute, override=True)


def public_names(modname: str) -> list[str]:
    """The names a module documents here: its ``__all__`` (or its own public definitions).

    For a package, names defined in one of its public submodules are left to that submodule's
    page, so each object is documented once.
    """
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, v in vars(mod).items() if not n.startswith("_")
                 and getattr(v, "__module__", modname) == modname and not inspect.ismodule(v)]
    keep = []
    for n in names:
        owner = getattr(getattr(mod, n), "__module__", None) or modname
        if (hasattr(mod, "__path__") and owner.startswith(modname + ".")
                and not any(part.startswith("_") for part in owner[len(modname) + 1:].split("."))):
            continue
        keep.append(n)
    return keep


def first_sentence(doc: str | None) -> str:
    """The first sentence of a docstring's first paragraph, not cut inside a ``literal``."""
    para = " ".join((doc or "").strip().split("\n\n")[0].split())
    in_literal = False
    i = 0
    while i < len(para):
        if para.startswith("``", i):
            in_literal = not in_literal
            i += 2
            continue
        if not in_literal and para[i] == "." and (i + 1 == len(para) or para[i + 1] == " "):
            return para[: i + 1]
        i += 1
    return para


def _attr_doc(modname: str, name: str) -> list[str]:
    """``#:`` doc comment of a module constant, looked up in the module and its private parts."""
    from sphinx.pycode import ModuleAnalyzer

    mod = importlib.import_module(modname)
    candidates = [modname]
    if hasattr(mod, "__path__"):
        candidates += [m for m in (getattr(v, "__name__", "") for v in vars(mod).values())
                       if m.startswith(modname + ".")]
        candidates += [f"{modname}.{p.stem}" for p in Path(mod.__path__[0]).glob("_*.py")
                       if p.stem != "__init__"]
    for cand in candidates:
        try:
            docs = ModuleAnalyzer.for_module(cand).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module without source simply has no comments
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return []


def _parse_rst(directive: SphinxDirective, lines: list[str], source: str) -> list[nodes.Node]:
    """Parse reStructuredText generated by a directive, also inside a MyST (Markdown) page."""
    if "myst" in type(directive.state).__module__ or "myst" in type(directive.state_machine).__module__:
        lines = ["```{eval-rst}", *lines, "```"]
    node = nodes.section()
    node.document = directive.state.document
    directive.state.nested_parse(StringList(lines, source=source), directive.content_offset,
                                 node, match_titles=False)
    return node.children


class ApiModule(SphinxDirective):
    """``{cnnbook-api} cnnbook.data``: docstring, summary table, then every public name."""

    required_arguments = 1
    option_spec = {"exclude": directives.unchanged}

    def run(self):
        modname = self.arguments[0]
        try:
            mod = importlib.import_module(modname)
        except Exception as exc:  # noqa: BLE001 - reported in the build, which then fails (-W)
            raise self.error(f"cannot import {modname}: {exc!r}") from exc
        exclude = set((self.options.get("exclude") or "").replace(",", " ").split())
        names = [n for n in public_names(modname) if n not in exclude]
        lines = [f".. automodule:: {modname}", "   :no-members:", ""]
        if names:
            lines += [".. list-table:: Summary", "   :class: cnnbook-api-summary",
                      "   :header-rows: 1", "   :widths: 30 70", "",
                      "   * - name", "     - what it is"]
            for n in names:
                obj = getattr(mod, n)
                call = "()" if callable(obj) and not inspect.isclass(obj) else ""
                doc = inspect.getdoc(obj) if (inspect.isclass(obj) or callable(obj)) else None
                if doc is None:
                    doc = "\n".join(_attr_doc(modname, n))
                lines += [f"   * - :py:obj:`{n}{call} <{modname}.{n}>`",
                          f"     - {first_sentence(doc)}"]
            lines += ["", ".. rubric:: Reference", ""]
        for n in names:
            obj = getattr(mod, n)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                lines += [f".. autoexception:: {modname}.{n}", ""]
            elif inspect.isclass(obj):
                lines += [f".. autoclass:: {modname}.{n}", "   :members:", ""]
            elif callable(obj):
                lines += [f".. autofunction:: {modname}.{n}", ""]
            else:
                lines += [f".. autodata:: {modname}.{n}", ""]
                doc = _attr_doc(modname, n)
                if doc and not _attr_doc_is_own(modname, n):
                    lines += ["", *[f"   {d}" for d in doc], ""]
        node = nodes.section()
        node.document = self.state.document
        return _parse_rst(self, lines, f"<cnnbook-api {modname}>")


def _attr_doc_is_own(modname: str, name: str) -> bool:
    from sphinx.pycode import ModuleAnalyzer

    try:
        return ("", name) in ModuleAnalyzer.for_module(modname).find_attr_docs()
    except Exception:  # noqa: BLE001
        return False


def _api_pages_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Sphinx re-reads a page only when its own file changes; an API page must be re-read when
    the package's docstrings change, so every page using these directives is read each build."""
    return sorted(d for d in env.found_docs if "/api/" in f"/{d}/" or d.endswith("/api"))


class ApiIndex(SphinxDirective):
    """``{cnnbook-api-index}``: a table of every page under ``book/api/`` (one per module).

    A page ``book/api/cnnbook.data.md`` documents the module ``cnnbook.data``; adding a module to
    the reference is adding such a page (``_toc.yml`` picks it up by a glob).
    """

    def run(self):
        folder = self.env.docname.rsplit("/", 1)[0] + "/api/"
        docs = sorted(d for d in self.env.found_docs if d.startswith(folder))
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 35 65", "",
                 "   * - module", "     - what it holds"]
        for doc in docs:
            modname = doc[len(folder):]
            try:
                summary = (inspect.getdoc(importlib.import_module(modname)) or "").split("\n\n")[0]
            except Exception as exc:  # noqa: BLE001 - reported in the build (-W fails it)
                raise self.error(f"{doc}: no module {modname} ({exc})") from exc
            summary = " ".join(summary.split())
            lines += [f"   * - :doc:`{modname} </{doc}>`", f"     - {summary}"]
        return _parse_rst(self, lines, "<cnnbook-api-index>")


# --- bibliography labels: author-year, as in the text ---------------------------------------
def _register_bibtex_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.richtext import Text
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    def surname(person) -> str:
        raw = " ".join(person.prelast_names + person.last_names)
        return Text.from_latex(raw).render_as("text").strip("{}")

    class AuthorYearLabels(BaseLabelStyle):
        """``Hubel and Wiesel, 1959``, ``He et al., 2016``: the form the text's citations take."""

        def format_labels(self, sorted_entries):
            entries = list(sorted_entries)
            base = list(self._base_labels(entries))
            seen: dict[str, int] = {}
            for label in base:
                if base.count(label) > 1:  # He et al., 2016a / 2016b, in list order
                    seen[label] = seen.get(label, 0) + 1
                    label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
                yield label

        def _base_labels(self, sorted_entries):
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                if not people:
                    who = entry.fields.get("organization") or entry.fields.get("title", entry.key)
                    who = Text.from_latex(who).render_as("text")
                elif len(people) == 1:
                    who = surname(people[0])
                elif len(people) == 2:
                    who = f"{surname(people[0])} and {surname(people[1])}"
                else:
                    who = f"{surname(people[0])} et al."
                yield f"{who}, {entry.fields.get('year', 'n.d.')}"

    class CnnbookStyle(Unsrt):
        default_label_style = "cnnbook_authoryear"
        default_sorting_style = "author_year_title"

    # The text's author-year citations take the year from the entry's label, so a suffix that
    # tells two "He et al., 2016" apart appears in the text and in the list alike.
    from sphinxcontrib.bibtex.style import template
    from sphinxcontrib.bibtex.style.referencing import basic_author_year

    @template.node
    def label_year(children, data):
        assert not children
        return Text(data["formatted_entry"].label.rsplit(", ", 1)[-1])

    basic_author_year.year = label_year

    try:
        register_plugin("pybtex.style.labels", "cnnbook_authoryear", AuthorYearLabels)
        register_plugin("pybtex.style.formatting", "cnnbook", CnnbookStyle)
    except Exception:  # noqa: BLE001 - already registered in this interpreter (re-build)
        pass


def setup(app: Sphinx):
    _dedupe_inline_scripts()
    _register_bibtex_style()
    app.connect("builder-inited", _add_static)
    app.add_css_file("cnnbook.css")
    app.add_js_file("cnnbook.js", loading_method="defer")
    app.connect("doctree-resolved", _run_note)
    app.connect("doctree-resolved", _link_solutions)
    # after Sphinx's own numbering (TocTreeCollector, default priority 500)
    app.connect("env-get-updated", _number_by_chapter, priority=900)
    app.connect("autodoc-process-signature", _process_signature)
    app.connect("autodoc-process-docstring", _drop_type_docstring)
    app.connect("autodoc-process-docstring", _undo_prose_type, priority=600)  # after napoleon
    app.connect("missing-reference", _resolve_short_reference)
    app.setup_extension("sphinx.ext.autodoc")
    _safe_data_documenters(app)
    app.add_directive("cnnbook-api", ApiModule)
    app.add_directive("cnnbook-api-index", ApiIndex)
    app.connect("env-get-outdated", _api_pages_outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
