"""The package is a clean stack: module-level imports between cnnbook modules form no cycle, every
module is listed (with one line) in cnnbook/__init__.py and its lazy list, and every module
imports on its own in a fresh interpreter, in any order."""

from __future__ import annotations

import ast
import os
import random
import subprocess
import sys
from pathlib import Path

import cnnbook

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "cnnbook"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _top_level_imports(path: Path, package: str) -> set[str]:
    """cnnbook modules imported at module level (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("cnnbook")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("cnnbook"):
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    found.add(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists()
                              or (PKG.parent / sub.replace(".", "/")).is_dir() else base)
    return found


def test_import_graph_has_no_cycle():
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        graph[name] = {m for m in _top_level_imports(path, package) if m in mods and m != name}
    # a package imports its own submodules; that edge is not a layer violation
    graph = {n: {m for m in deps if not m.startswith(n + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_init_lists_every_module_once():
    top = sorted(p.stem for p in PKG.glob("*.py") if p.stem != "__init__") + ["plot"]
    assert sorted(cnnbook._MODULES) == sorted(top)
    doc = cnnbook.__doc__
    for name in top:
        assert doc.count(f":mod:`cnnbook.{name}` - ") == 1, name


def test_every_module_imports_alone_in_any_order():
    names = [n for n in _modules() if n != "cnnbook"]
    random.Random(0).shuffle(names)
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print('ok')\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
