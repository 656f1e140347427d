"""Policy for the committed notebooks (nbval itself runs them: see pyproject.toml)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "scripts"))
import nbtool  # noqa: E402

MACHINE_PATH = re.compile(r"(?<![\w:/.])/(?:home|root|tmp|Users|work|opt|usr|var)/[\w.-]+")


def _toc_files() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_compared_cells_keep_outputs(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    assert nbtool.problems(nb) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_machine_paths_in_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            text = json.dumps(out)
            assert not MACHINE_PATH.search(text), f"cell {i} output holds a machine path"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_is_in_the_toc(path):
    assert f"book/{path.stem}" in _toc_files()


def test_every_toc_entry_exists():
    for f in _toc_files():
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f


def test_policy_checker_catches_stray_outputs():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    nb = new_notebook(cells=[new_code_cell("print(1)", execution_count=1,
                                           outputs=[new_output("stream", name="stdout", text="1\n")])])
    assert nbtool.problems(nb) == ["cell 0: stores outputs/execution count but is not tagged nbval-check-output"]
    nb.cells[0].metadata["tags"] = ["nbval-check-output"]
    assert nbtool.problems(nb) == []
    nb.cells[0].outputs.append(new_output("stream", name="stderr", text="warn\n"))
    assert nbtool.problems(nb) == ["cell 0: stores stderr"]
    cleaned = nbtool.clean(nb)
    assert [o["name"] for o in cleaned.cells[0].outputs] == ["stdout"]


def test_nbtool_check_command_passes_on_the_book():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "nbtool.py"), "check", *map(str, NOTEBOOKS)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


MAX_CODE_LINE = 80  # characters; the text column shows about 80-88 at 1280 px without scrolling
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def long_code_lines(nb: dict, limit: int = MAX_CODE_LINE) -> list[str]:
    """Code lines wider than ``limit``: every line of a code cell, and every line inside a fenced
    code block of a markdown cell (directives such as ```{exercise} are prose, not code)."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = src.splitlines()
        if cell["cell_type"] == "code":
            code = [(n, line) for n, line in enumerate(lines, 1)]
        elif cell["cell_type"] == "markdown":
            code, fence = [], None
            for n, line in enumerate(lines, 1):
                m = _FENCE.match(line)
                if fence is None and m:
                    info = m.group(3).strip()
                    fence = (m.group(2)[0], len(m.group(2)), not info.startswith("{"))
                elif fence is not None and m and m.group(2)[0] == fence[0] \
                        and len(m.group(2)) >= fence[1] and not m.group(3).strip():
                    fence = None
                elif fence is not None and fence[2]:
                    code.append((n, line))
        else:
            continue
        for n, line in code:
            if len(line) > limit:
                found.append(f"cell {i} ({cell['cell_type']}), line {n}: {len(line)} characters > "
                             f"{limit}: {line.strip()[:60]}...")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_column(path):
    problems = long_code_lines(json.loads(path.read_text()))
    assert not problems, f"{path.name}: code lines wider than {MAX_CODE_LINE} characters:\n" + \
        "\n".join(problems)


def test_code_width_checker():
    ok, wide = "x = 1", "y = " + "1" * 80
    nb = {"cells": [
        {"cell_type": "code", "source": [ok + "\n", wide]},
        {"cell_type": "markdown", "source": "Prose can be as long as it likes " * 5 + "\n\n```python\n"
         + ok + "\n" + wide + "\n```\n\n```{exercise}\n:label: ex-1-1\n\n" + "long prose " * 20 + "\n```\n"},
        {"cell_type": "raw", "source": wide},
    ]}
    assert long_code_lines(nb) == [
        f"cell 0 (code), line 2: 84 characters > 80: {wide[:60]}...",
        f"cell 1 (markdown), line 5: 84 characters > 80: {wide[:60]}...",
    ]
