"""Run scikit-learn's own test files against segengine's estimators.

The test files ship inside the installed scikit-learn wheel. Each is copied to a scratch
directory with one change: after its imports, the estimator under test is re-bound to
segengine's (``KMeans``, ``GaussianMixture``, ``silhouette_samples``/``silhouette_score``), so
every test, parametrisation and helper of the file exercises segengine. scikit-learn's own
``conftest`` is loaded as a plugin (its fixtures, e.g. ``global_random_seed``).

Tests that do not apply (they test a private scikit-learn function, MiniBatchKMeans, another
metric, ...) are listed with one line of reason each in ``deselected.txt`` beside this file
and are not run. The script prints the pass/fail table and exits 1 when any test outside the
list fails (or errors), 0 otherwise.

Usage::

    PYTHONPATH=. python tests/conformance/run_sklearn_suites.py [--suite kmeans|gmm|silhouette]
        [--keep DIR] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DESELECTED = HERE / "deselected.txt"


@dataclass(frozen=True)
class Suite:
    name: str
    path: str  # inside the installed sklearn package
    swap: str  # statements appended after the file's imports
    label: str


SUITES = [
    Suite(
        "kmeans",
        "cluster/tests/test_k_means.py",
        "from segengine.engines.kmeans_estimator import KMeans, k_means, kmeans_plusplus\n",
        "`cluster/tests/test_k_means.py` (KMeans, k_means, kmeans_plusplus)",
    ),
    Suite(
        "gmm",
        "mixture/tests/test_gaussian_mixture.py",
        "from segengine.engines.gmm_estimator import GaussianMixture\n",
        "`mixture/tests/test_gaussian_mixture.py` (GaussianMixture)",
    ),
    Suite(
        "silhouette",
        "metrics/cluster/tests/test_unsupervised.py",
        "from segengine.metrics.silhouette import silhouette_samples, silhouette_score\n",
        "`metrics/cluster/tests/test_unsupervised.py` (silhouette_samples, silhouette_score)",
    ),
]

# Loaded in the scratch directory: scikit-learn's fixtures, then the deselection list.
CONFTEST = '''
import fnmatch
import os

from sklearn.conftest import *  # noqa: F401,F403  (global_random_seed, global_dtype, ...)
from sklearn.conftest import pytest_configure as _sk_configure
from sklearn.conftest import pytest_generate_tests  # noqa: F401
from sklearn.conftest import pytest_addoption  # noqa: F401
from sklearn.conftest import pytest_runtest_setup  # noqa: F401

_PATTERNS = [p for p in os.environ["SEGENGINE_CONFORMANCE_DESELECT"].split("\\n") if p]


def pytest_configure(config):
    _sk_configure(config)


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        (drop if any(fnmatch.fnmatchcase(item.nodeid, p) for p in _PATTERNS) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
'''


def sklearn_dir() -> Path:
    import sklearn

    return Path(sklearn.__file__).resolve().parent


def read_deselection(path: Path = DESELECTED) -> list[tuple[str, str]]:
    """(node id pattern, reason) pairs; every pattern must carry a reason."""
    entries = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition("  # ")
        if not sep or not reason.strip():
            raise SystemExit(f"{path}:{lineno}: every deselected test needs '  # reason'")
        entries.append((pattern.strip(), reason.strip()))
    return entries


def swapped_source(source: str, swap: str) -> str:
    """The test file with ``swap`` inserted right after its last top-level import."""
    tree = ast.parse(source)
    last = max(n.end_lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))
    lines = source.splitlines(keepends=True)
    marker = "# --- segengine conformance: the estimator under test is segengine's ---\n"
    return "".join(lines[:last]) + "\n" + marker + swap + "\n" + "".join(lines[last:])


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    deselected: int = 0
    sparse_passed: int = 0
    sparse_failed: int = 0


def _is_sparse_case(nodeid: str) -> bool:
    return any(s in nodeid for s in ("csr", "csc", "sparse", "dok", "lil"))


def run_suite(suite: Suite, patterns: list[str], workdir: Path, extra: list[str]) -> tuple[Outcome, list[str]]:
    src = (sklearn_dir() / suite.path).read_text(encoding="utf-8")
    test_file = workdir / Path(suite.path).name
    test_file.write_text(swapped_source(src, suite.swap), encoding="utf-8")
    (workdir / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (workdir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n", encoding="utf-8")
    junit = workdir / f"{suite.name}.xml"
    mine = [p.split("::", 1)[1] for p in patterns if p.split("::", 1)[0] == test_file.name]
    env = dict(os.environ)
    # float32 variants too (scikit-learn's own CI skips them by default).
    env.setdefault("SKLEARN_RUN_FLOAT32_TESTS", "1")
    env["SEGENGINE_CONFORMANCE_DESELECT"] = "\n".join(f"{test_file.name}::{p}" for p in mine)
    if importlib.util.find_spec("segengine") is None:
        # Not installed: test the checkout this script belongs to. (An installed segengine is
        # used as is, with the numba cache the test suite already filled.)
        repo = str(HERE.parent.parent)
        env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "pytest", test_file.name, "-q", "-p", "no:randomly",
           f"--junitxml={junit}", "-o", "junit_family=xunit1", *extra]
    proc = subprocess.run(cmd, check=False, cwd=workdir, env=env, capture_output=True, text=True)
    out = Outcome()
    failures = []
    if not junit.exists():
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"{suite.name}: pytest produced no report (exit {proc.returncode})")
    root = ET.parse(junit).getroot()
    for case in root.iter("testcase"):
        name = case.get("name", "")
        nodeid = f"{test_file.name}::{name}"
        sparse = _is_sparse_case(name)
        if case.find("skipped") is not None:
            out.skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            out.failed += 1
            out.sparse_failed += sparse
            failures.append(nodeid)
        else:
            out.passed += 1
            out.sparse_passed += sparse
    found = re.findall(r"(\d+) deselected", proc.stdout)
    out.deselected = int(found[-1]) if found else 0
    return out, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", choices=[s.name for s in SUITES])
    parser.add_argument("--keep", help="directory to keep the swapped files and reports in")
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    entries = read_deselection()
    patterns = [p for p, _ in entries]
    chosen = [s for s in SUITES if not args.suite or s.name in args.suite]
    rows, all_failures = [], []
    with tempfile.TemporaryDirectory(prefix="segengine-conformance-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for suite in chosen:
            workdir = base / suite.name
            workdir.mkdir(parents=True, exist_ok=True)
            out, failures = run_suite(suite, patterns, workdir, args.extra)
            rows.append((suite, out))
            all_failures += failures
    import sklearn

    spec = importlib.util.find_spec("segengine")
    print(f"segengine under test: {Path(spec.origin).parent if spec else HERE.parent.parent / 'segengine'}")
    print(f"\nscikit-learn {sklearn.__version__} test files, estimator under test swapped for segengine's\n")
    print("| scikit-learn test file (estimator swapped) | pass | fail | skipped | not applicable |")
    print("|---|---|---|---|---|")
    for suite, out in rows:
        print(f"| {suite.label} | {out.passed} | {out.failed} | {out.skipped} | {out.deselected} |")
    sparse_rows = [(s, o) for s, o in rows if o.sparse_passed + o.sparse_failed]
    if sparse_rows:
        print("\nof which sparse-input cases (CSR/CSC/...):")
        for suite, out in sparse_rows:
            print(f"  {suite.name}: {out.sparse_passed} pass, {out.sparse_failed} fail")
    if all_failures:
        print(f"\n{len(all_failures)} applicable test(s) failed:")
        for f in all_failures:
            print(f"  FAILED {f}")
        return 1
    print("\nevery applicable test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
