"""Execute and clean the book's notebooks.

    python scripts/nbtool.py run book/01_introduction.ipynb [...]   # execute (quick profile), then clean
    python scripts/nbtool.py clean book/*.ipynb                      # clean without executing
    python scripts/nbtool.py check book/*.ipynb                      # exit 1 if a notebook breaks the policy

Policy (tests/test_notebooks.py checks it): only cells tagged ``nbval-check-output`` keep their
outputs (without stderr) and execution count; every other cell is stored with no output and
``execution_count: null`` (nbval runs it but never compares it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

CHECK = "nbval-check-output"


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
        if cell.cell_type != "code":
            continue
        if CHECK in cell.metadata.get("tags", []):
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            for o in cell.outputs:
                if "metadata" in o:  # display outputs: drop per-run metadata (sizes, ids)
                    o["metadata"] = {}
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def problems(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        checked = CHECK in cell.metadata.get("tags", [])
        if not checked and (cell.outputs or cell.execution_count is not None):
            out.append(f"cell {i}: stores outputs/execution count but is not tagged {CHECK}")
        if checked and cell.execution_count is None:
            out.append(f"cell {i}: tagged {CHECK} but stored unrun (nbval would never compare it)")
        for o in cell.outputs:
            if o.get("output_type") == "error":
                out.append(f"cell {i}: stores an error")
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                out.append(f"cell {i}: stores stderr")
    return out


def run(path: Path) -> None:
    from nbclient import NotebookClient

    os.environ.setdefault("CNNBOOK_PROFILE", "quick")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(clean(nb), path)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("run", "clean", "check"):
        print(__doc__)
        return 2
    cmd, paths = argv[0], [Path(p) for p in argv[1:]]
    bad = 0
    for p in paths:
        if cmd == "run":
            run(p)
            print(f"executed and cleaned {p}")
        elif cmd == "clean":
            nbformat.write(clean(nbformat.read(p, as_version=4)), p)
        else:
            for msg in problems(nbformat.read(p, as_version=4)):
                print(f"{p}: {msg}")
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
