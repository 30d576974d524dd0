"""The engines import one way: kernels -> functional core -> estimators (issue #15, item 4).

Read from the source with ``ast`` (every import statement, also those inside functions), so a
lazy import that would close a cycle is caught as well as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINES = Path(__file__).resolve().parents[1] / "segengine" / "engines"

# Layer of every module of segengine/engines: a module may import only from lower or equal layers.
KERNELS = {"_kmeans_kernels", "_kmeans_sparse_kernels", "_gmm_kernels", "_membership_kernels", "_bounds"}
CORE = {"kmeans", "gmm", "memberships"}
ESTIMATORS = {"kmeans_estimator", "gmm_estimator"}
LAYER = {**{m: 0 for m in KERNELS}, **{m: 1 for m in CORE}, **{m: 2 for m in ESTIMATORS}, "__init__": 0}


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement of ``path`` (absolute, dotted)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against segengine.engines
                base = "segengine.engines" + ("." + base if base else "")
            found.add(base)
            # "from segengine.engines import gmm" names the module gmm
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def engine_edges() -> dict[str, set[str]]:
    """For every module of segengine/engines, the engine modules it imports."""
    edges = {}
    for path in sorted(ENGINES.glob("*.py")):
        mods = imported_modules(path)
        edges[path.stem] = {m.split(".")[2] for m in mods
                            if m.startswith("segengine.engines.") and m.split(".")[2] in LAYER}
    return edges


def test_every_engine_module_has_a_layer():
    assert {p.stem for p in ENGINES.glob("*.py")} == set(LAYER)


def test_no_engine_module_imports_a_higher_layer():
    back_edges = [(src, dst) for src, dsts in engine_edges().items() for dst in dsts
                  if LAYER[dst] > LAYER[src]]
    assert back_edges == []


@pytest.mark.parametrize("name", sorted(KERNELS | CORE))
def test_kernels_and_core_never_import_scikit_learn(name):
    mods = imported_modules(ENGINES / f"{name}.py")
    assert not [m for m in mods if m.split(".")[0] == "sklearn"]


def test_no_module_getattr_in_engines():
    # A module-level __getattr__ was how the cores re-exported their estimators (a hidden edge).
    for path in ENGINES.glob("*.py"):
        tree = ast.parse(path.read_text())
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"], path.name


def test_the_package_exports_the_estimators():
    import segengine as se
    from segengine.engines.gmm_estimator import GaussianMixture
    from segengine.engines.kmeans_estimator import KMeans

    assert se.KMeans is KMeans and se.GaussianMixture is GaussianMixture
