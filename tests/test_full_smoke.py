"""Every notebook's full-profile branch, run end to end at smoke scale (issue 15, item 2).

The book is built under the quick profile; the full profile only runs on a reader's GPU. So that a
typo or a shape error in a full-profile branch fails here and not there, each notebook is executed
with ``CNNBOOK_PROFILE=full CNNBOOK_SMOKE=1``: every ``runtime.budget`` call takes its ``full``
values with the few replacements its ``smoke`` argument names (a step or an epoch instead of
thousands), and the data come from small files in the Keras cache format
(``tests/keras_cache_fixture.py``: MNIST, Fashion-MNIST, CIFAR-10/100 and random-weight ImageNet
weights for ResNet50) in a temporary ``KERAS_HOME``, with the network check off.

The images there are noise, so the notebooks' claims about trained results cannot hold. Their
``assert`` statements are turned into records for this run (an IPython AST transformer, set up in a
cell that is not saved): the asserted expression is still evaluated, so a name or shape error in
it fails the run, but a false result is listed, not raised. Any exception fails the test, naming the
cell. The quick-profile run (nbval, ``tests/test_notebooks.py``) checks the claims themselves.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest

import keras_cache_fixture  # tests/ is on sys.path (rootdir-relative imports)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

SETUP = '''
import ast as _ast
_cnnbook_claims = []

def _cnnbook_claim(ok, message, text):
    if not ok:
        # IPython has already counted the running cell: the setup cell is execution 1
        _cnnbook_claims.append({"cell": get_ipython().execution_count - 1, "assert": text,
                                "message": None if message is None else str(message())[:200]})

class _CnnbookSoftAssert(_ast.NodeTransformer):
    def visit_Assert(self, node):
        self.generic_visit(node)
        no_args = _ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])
        message = (_ast.Lambda(args=no_args, body=node.msg) if node.msg is not None
                   else _ast.Constant(None))
        call = _ast.Call(func=_ast.Name("_cnnbook_claim", _ast.Load()),
                         args=[node.test, message, _ast.Constant(_ast.unparse(node.test)[:160])],
                         keywords=[])
        return _ast.copy_location(_ast.Expr(call), node)

get_ipython().ast_transformers.append(_CnnbookSoftAssert())
'''
REPORT = "import json as _json; print(_json.dumps(_cnnbook_claims))"


@pytest.fixture(scope="module")
def keras_home(tmp_path_factory):
    return keras_cache_fixture.write(tmp_path_factory.mktemp("keras_home"))


def _execute(path: Path, env: dict[str, str]) -> tuple[list[dict], float]:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SETUP))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel is a child process and inherits this environment
    try:
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    claims = json.loads(text)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]  # execution k ran code[k - 1]
    for c in claims:  # the notebook's own cell index (without the setup cell)
        c["cell"] = code[c["cell"] - 1] - 1
    return claims, seconds


def test_smoke_setup_records_failed_asserts_and_keeps_errors(keras_home, tmp_path):
    """The transformer itself: a false assert is recorded, a broken one still raises."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nassert x == 2, f'x is {x}'\ny = x + 1"),
                nbformat.v4.new_code_cell("assert y == 2")]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    claims, _ = _execute(path, {})
    assert claims == [{"cell": 0, "assert": "x == 2", "message": "x is 1"}]
    nb.cells.append(nbformat.v4.new_code_cell("assert undefined_name > 0"))
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="NameError"):
        _execute(path, {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_full_profile_branch_runs(path, keras_home, capsys):
    env = {"CNNBOOK_PROFILE": "full", "CNNBOOK_SMOKE": "1", "KERAS_HOME": str(keras_home),
           "CNNBOOK_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    os.environ.pop("CNNBOOK_PROGRESS", None)
    claims, seconds = _execute(path, env)
    with capsys.disabled():
        print(f"\n[smoke] {path.name}: full-profile branch ran in {seconds:.0f} s; "
              f"{len(claims)} claim(s) about trained results not checked at this scale")
        for c in claims:
            print(f"[smoke]   cell {c['cell']}: assert {c['assert']}")
