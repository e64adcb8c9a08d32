"""The module as a package: its version, its type stub naming every public name with a valid
signature, and a docstring on every function."""
import ast
import os

import grokscope


def test_version_and_docstrings():
    assert grokscope.__version__.count(".") == 2
    functions = [n for n, f in vars(grokscope).items() if callable(f) and not isinstance(f, type)]
    assert [n for n in functions if len((getattr(grokscope, n).__doc__ or "").splitlines()) < 2] == []  # signature + text
    classes = [n for n, c in vars(grokscope).items() if isinstance(c, type)]
    assert [n for n in classes if not (getattr(grokscope, n).__doc__ or "").strip()] == []


def test_the_type_stub_names_every_public_name():
    stub = os.path.join(os.path.dirname(grokscope.__file__), "grokscope.pyi")
    assert os.path.exists(stub), "no grokscope.pyi beside " + grokscope.__file__
    tree = ast.parse(open(stub).read())
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names |= {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign)}
    public = {n for n in vars(grokscope) if not n.startswith("__")}
    assert public - names == set()
    f = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "hessian_eigenvalues")
    assert [a.arg for a in f.args.args][:4] == ["model", "inputs", "targets", "k"]
