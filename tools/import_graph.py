"""The import graph of segengine, layer by layer, and every edge that runs against the pipeline.

    python tools/import_graph.py            # print the graph; exit 1 on a cycle or a back-edge
    python tools/import_graph.py --quiet    # print only the violations
    python tools/import_graph.py --strict   # also fail on KNOWN_BACK_EDGES that no longer exist

Every module under ``segengine/`` is read with :mod:`ast` (nothing is imported). An edge is any
import of another segengine module: at module level, inside ``if TYPE_CHECKING:`` (a type
annotation naming a higher layer's class is the same coupling), inside a function (a lazy
import is still a dependency), inside a module ``__getattr__`` (a re-export), and a string literal
naming a segengine module (``importlib.import_module("segengine.api")`` in a lazy table).

Each module belongs to one layer (``LAYERS``, bottom first, in pipeline order). A module may
import modules of its own layer or of lower layers; an import of a higher layer is a back-edge.
The script fails on

* a back-edge that is not in ``KNOWN_BACK_EDGES``,
* a cycle among the edges that remain once the known back-edges are set aside,
* a module that no layer names (a new module must be placed on purpose).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "segengine"

# Bottom first. A pattern is a module name or an fnmatch pattern (``segengine.service.*``); the
# first layer with a matching pattern wins, so exact names come before wider patterns.
# Modules named here that this checkout does not have yet are those of the other #15 branches
# (placed by reading their imports on main), so that the merge needs no edit of LAYERS.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # Read by everything; import nothing of segengine above them.
    ("foundation", (
        "segengine._version", "segengine.config", "segengine.errors", "segengine.concurrency",
        "segengine.json_keys", "segengine.json_fast", "segengine.files", "segengine.compile_ahead",
        "segengine.text", "segengine.text.language", "segengine.text.msg", "segengine.text.catalog",
        "segengine.text.chart_labels", "segengine.text.error_messages",
        "segengine.text.budget_messages", "segengine.text.estimator_messages",
        "segengine.text.file_messages", "segengine.text.option_help",
        "segengine.text.service_messages", "segengine.text.terminal_labels",
    )),
    # numba kernels: arrays in, arrays out.
    ("kernels", (
        "segengine.engines", "segengine.engines._bounds", "segengine.engines._kmeans_kernels",
        "segengine.engines._kmeans_sparse_kernels", "segengine.engines._gmm_kernels",
        "segengine.engines._membership_kernels", "segengine.metrics", "segengine.metrics._silhouette_kernels",
        "segengine.metrics._silhouette_metric_kernels", "segengine.kernel_cache",
    )),
    # Functional cores over the kernels (what the pipeline calls).
    ("engine cores", ("segengine.engines.kmeans", "segengine.engines.gmm", "segengine.engines.memberships")),
    # scikit-learn compatible estimators over the cores.
    ("engine estimators", ("segengine.engines.kmeans_estimator", "segengine.engines.gmm_estimator")),
    ("metrics", ("segengine.metrics.silhouette", "segengine.mergeable")),
    # The option table and the business roles it names; preprocessing reads the options.
    ("options", ("segengine.options", "segengine.roles")),
    # Records, frames, arrays and files into typed columns.
    ("table", ("segengine.table", "segengine.columns_fast", "segengine.readers", "segengine.datasets")),
    ("preprocessing", ("segengine.preprocessing",)),
    ("request", ("segengine.request",)),
    # Choosing k and the algorithm within a budget; stability of the chosen segments.
    ("selection", (
        "segengine.selection", "segengine.budget", "segengine.stability", "segengine.mixture_checks",
    )),
    ("profiling", ("segengine.profiling",)),
    # The fitted model and the report built from it; reader-facing sentences about profiles.
    ("model and report", (
        "segengine.model", "segengine.report", "segengine.persistence", "segengine.model_check",
        "segengine.scoring_checks", "segengine.text.naming", "segengine.text.insights",
    )),
    # The pipeline in small steps: records -> fitted model -> scored batch.
    ("fitting", ("segengine.fitting",)),
    # Pictures of a report: chart numbers, SVG, the HTML page and the notebook summary. They read a
    # report dict and a fitted model's arrays (duck-typed), so the estimator can draw itself.
    ("pictures", (
        "segengine.chart_data", "segengine.svg", "segengine.svg_charts", "segengine.html_style",
        "segengine.html_summary", "segengine.html_report",
    )),
    # The estimator over the pipeline, its scikit-learn surface and assign().
    ("segmenter", ("segengine.segmenter", "segengine.estimator_api", "segengine.assign")),
    # The contract as functions, and the package's public face (its lazy table reaches here).
    ("api", ("segengine.api", "segengine")),
    # Everything that renders or serves a fitted segmentation.
    ("edges", (
        "segengine.plots", "segengine.dask", "segengine.dask.*", "segengine.service", "segengine.service.*",
        # argument types shared by the CLI and the service's subcommands
        "segengine.arguments",
    )),
    # The command line composes everything, including `serve` and `--html`.
    ("cli", ("segengine.cli", "segengine.__main__", "segengine.terminal", "segengine.compile_stages")),
]

# Back-edges tolerated for a while (reported, not failing). Issue #15 removed the six found on
# 2026-12-02 (engines' __getattr__ re-exports, report <-> segmenter, segmenter -> HTML); keep it empty.
KNOWN_BACK_EDGES: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Edge:
    """One import of ``target`` by ``source`` (``kind``: module, type, function, getattr, lazy)."""

    source: str
    target: str
    kind: str
    line: int


def module_name(path: Path, root: Path) -> str:
    """The dotted name of a source file under ``root`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: set[str]) -> str | None:
    """The segengine module an imported dotted name lands in (its longest known prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, source: str, is_package: bool, modules: set[str]) -> None:
        self.source = source
        self.is_package = is_package
        self.modules = modules
        self.edges: list[Edge] = []
        self.imports_by_name = False
        self._context = ["module"]

    def _add(self, target: str | None, line: int, kind: str | None = None) -> None:
        if target is not None and target != self.source:
            edge = Edge(self.source, target, kind or self._context[-1], line)
            if edge not in self.edges:  # `from m import a, b` is one edge
                self.edges.append(edge)

    def _enter(self, kind: str, nodes: list[ast.stmt]) -> None:
        self._context.append(kind)
        for node in nodes:
            self.visit(node)
        self._context.pop()

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._enter("type", node.body)
            for n in node.orelse:
                self.visit(n)
        else:
            self.generic_visit(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        top_level_getattr = node.name == "__getattr__" and len(self._context) == 1
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._enter("getattr" if top_level_getattr else "function", node.body)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                self._add(_resolve(alias.name, self.modules), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            # Relative import: counted from this module's package.
            package = self.source.split(".")
            if not self.is_package:
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        if base.split(".")[0] != PACKAGE:
            return
        for alias in node.names:
            # `from segengine import config` imports the submodule segengine.config.
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in self.modules else _resolve(base, self.modules), node.lineno)

    def visit_Constant(self, node: ast.Constant) -> None:
        # In a module that imports by name (importlib.import_module), a string naming a module
        # is a lazy import of it (a lazy re-export table, a list of kernels to load). Elsewhere
        # such a string is a logger name or a format tag, not an import.
        if self.imports_by_name and isinstance(node.value, str) and node.value in self.modules:
            self._add(node.value, node.lineno, "lazy")


def _imports_by_name(tree: ast.Module) -> bool:
    """Whether the module calls ``importlib.import_module`` or ``__import__``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                return True
    return False


def read_edges(root: Path = ROOT) -> tuple[list[str], list[Edge]]:
    """Every segengine module under ``root`` and every import edge between them.

    Parameters
    ----------
    root : Path
        The repository root (holding ``segengine/``).

    Returns
    -------
    modules : list of str
        Dotted module names, sorted.
    edges : list of Edge
        One per import statement (or lazy name), in file order.
    """
    paths = find_modules(root)
    names = set(paths)
    edges: list[Edge] = []
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        visitor = _ImportVisitor(name, path.name == "__init__.py", names)
        visitor.imports_by_name = _imports_by_name(tree)
        visitor.visit(tree)
        edges.extend(visitor.edges)
    return sorted(paths), edges


def layer_of(module: str) -> int | None:
    """Index in ``LAYERS`` of the layer holding ``module`` (None when no layer names it)."""
    for index, (_, patterns) in enumerate(LAYERS):
        if any(module == p or fnmatch.fnmatchcase(module, p) for p in patterns):
            return index
    return None


def find_cycles(nodes: list[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative).

    Parameters
    ----------
    nodes : list of str
        Module names.
    edges : set of (str, str)
        Directed edges (importer, imported).

    Returns
    -------
    list of list of str
        Each cycle's modules, sorted; the cycles sorted by their first module.
    """
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in sorted(edges):
        succ[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = succ[node]
            if i < len(children):
                work.append((node, i + 1))
                child = children[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(components)


@dataclass
class Check:
    """The outcome of :func:`check`: what fails the run and what is only reported."""

    unplaced: list[str]
    back_edges: list[Edge]
    new_back_edges: list[Edge]
    stale_known: list[tuple[str, str]]
    cycles: list[list[str]]
    cycles_with_known: list[list[str]]

    @property
    def failed(self) -> bool:
        """Whether the graph breaks the layering beyond the known back-edges."""
        return bool(self.unplaced or self.new_back_edges or self.cycles)


def check(modules: list[str], edges: list[Edge]) -> Check:
    """Compare the graph with ``LAYERS`` and ``KNOWN_BACK_EDGES``.

    Parameters
    ----------
    modules : list of str
        Every module (from :func:`read_edges`).
    edges : list of Edge
        Every import edge.

    Returns
    -------
    Check
    """
    unplaced = [m for m in modules if layer_of(m) is None]
    back = [
        e for e in edges
        if None not in (layer_of(e.source), layer_of(e.target)) and layer_of(e.source) < layer_of(e.target)
    ]
    back_pairs = {(e.source, e.target) for e in back}
    new_back = [e for e in back if (e.source, e.target) not in KNOWN_BACK_EDGES]
    pairs = {(e.source, e.target) for e in edges}
    return Check(
        unplaced=unplaced,
        back_edges=back,
        new_back_edges=new_back,
        stale_known=sorted(KNOWN_BACK_EDGES - back_pairs),
        cycles=find_cycles(modules, pairs - KNOWN_BACK_EDGES),
        cycles_with_known=find_cycles(modules, pairs),
    )


def _format_edge(e: Edge) -> str:
    return f"{e.source} -> {e.target}  ({e.kind} import, line {e.line})"


def render_graph(modules: list[str], edges: list[Edge]) -> str:
    """The graph as text: each layer, bottom first, with each module's imports.

    Parameters
    ----------
    modules : list of str
        Every module.
    edges : list of Edge
        Every import edge.

    Returns
    -------
    str
    """
    targets: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for e in edges:
        targets[e.source][e.target].add(e.kind)
    lines = []
    for index, (name, _) in enumerate(LAYERS):
        members = [m for m in modules if layer_of(m) == index]
        lines.append(f"[{index:2d}] {name}")
        for m in members:
            imports = []
            for t in sorted(targets[m]):
                kinds = targets[m][t] - {"module"}
                mark = " !" if layer_of(t) is not None and layer_of(t) > index else ""
                imports.append(t.removeprefix("segengine.") + (f" ({','.join(sorted(kinds))})" if kinds else "") + mark)
            lines.append(f"     {m}" + (": " + ", ".join(imports) if imports else ""))
    return "\n".join(lines)


def render_check(result: Check) -> str:
    """The violations as text (empty sections left out).

    Parameters
    ----------
    result : Check
        From :func:`check`.

    Returns
    -------
    str
    """
    out = []
    if result.unplaced:
        out.append("Modules in no layer (add them to LAYERS in tools/import_graph.py):")
        out.extend(f"  {m}" for m in result.unplaced)
    if result.new_back_edges:
        out.append("Back-edges (a lower layer imports a higher one):")
        out.extend(f"  {_format_edge(e)}" for e in result.new_back_edges)
    if result.cycles:
        out.append("Cycles (modules that reach each other through their imports):")
        out.extend("  " + ", ".join(c) for c in result.cycles)
    known = [e for e in result.back_edges if (e.source, e.target) in KNOWN_BACK_EDGES]
    if known:
        out.append("Known back-edges (KNOWN_BACK_EDGES; issue #15 removes them):")
        out.extend(f"  {_format_edge(e)}" for e in known)
    if result.cycles_with_known:
        out.append("Cycles through known back-edges (modules that reach each other):")
        out.extend("  " + ", ".join(c) for c in result.cycles_with_known)
    if result.stale_known:
        out.append("KNOWN_BACK_EDGES entries that no longer exist (remove them):")
        out.extend(f"  {a} -> {b}" for a, b in result.stale_known)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the graph and its violations; 0 when the layering holds, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    parser.add_argument("--quiet", action="store_true", help="print only the violations")
    parser.add_argument("--strict", action="store_true", help="also fail on stale KNOWN_BACK_EDGES entries")
    args = parser.parse_args(argv)
    modules, edges = read_edges(args.root)
    result = check(modules, edges)
    if not args.quiet:
        print(render_graph(modules, edges))
        print()
    report = render_check(result)
    if report:
        print(report)
    failed = result.failed or (args.strict and bool(result.stale_known))
    n_layers = len(LAYERS)
    print(f"{len(modules)} modules, {len({(e.source, e.target) for e in edges})} edges, {n_layers} layers: "
          + ("FAILED" if failed else "layering holds" + (" (with known back-edges)" if result.back_edges else "")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
