"""Digests of reports on fixed payloads, to prove a refactor changed no byte of any report.

    python tools/report_digests.py --write tools/report_digests.json   # before the change
    python tools/report_digests.py --check tools/report_digests.json   # after: exit 1 on a change

Timings (``processing_time_ms``, ``timings_ms``) are the only values removed before hashing: they
are measured, not computed. Every other byte of the JSON (results, profiles, names, sentences in
three languages, k selection, warnings) is hashed. Covered: the demo data, the benchmark payloads
of ``benchmarks/check.py`` (1k and 10k records, the separated set at 20k), a mixed-type table,
a fit with a fixed k under GMM, and scoring new records with a saved model. The digests depend on
the numpy / numba build, so compare only on one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import segengine as se  # noqa: E402
from segengine.datasets import make_numeric_customers  # noqa: E402


def _strip(body):
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k not in ("processing_time_ms", "timings_ms")}
    if isinstance(body, list):
        return [_strip(v) for v in body]
    return body


def _digest(body) -> str:
    text = json.dumps(_strip(body), sort_keys=True, ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _payloads():
    from segengine.datasets import load_demo_customers

    from check import separated_records

    yield "demo", {"data": load_demo_customers()[0]}
    for n in (1000, 10000):
        records, _ = make_numeric_customers(n=n, n_features=10, random_state=1)
        yield f"numeric_{n}", {"data": records}
    yield "separated_20k", {"data": separated_records(20000, 20, 6, 3)}
    records, _ = make_numeric_customers(n=3000, n_features=4, random_state=7)
    for i, r in enumerate(records):
        r["plan"] = ("basic", "plus", "pro")[i % 3]
        r["active"] = bool(i % 4)
        if i % 11 == 0:
            r["f0"] = None
    yield "mixed_3k", {"data": records}
    yield "gmm_k4", {"data": records, "options": {"algorithm": "gmm", "n_clusters": 4}}


def compute() -> dict[str, str]:
    out: dict[str, str] = {}
    for name, payload in _payloads():
        for lang in ("en", "es", "pt"):
            out[f"{name}/{lang}"] = _digest(se.segmentation_report(payload, language=lang))
    records, _ = make_numeric_customers(n=2000, n_features=5, random_state=3)
    seg = se.Segmenter().fit(records[:1500])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        seg.save(str(path))
        loaded = se.Segmenter.load(str(path))
        out["scored_saved_model/en"] = _digest(loaded.score_report(records[1500:], "en"))
        out["scored_saved_model/pt"] = _digest(loaded.score_report(records[1500:], "pt"))
        out["model_file"] = hashlib.sha256(path.read_bytes()).hexdigest()
    out["fitted_report/es"] = _digest(seg.report("es"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", metavar="FILE")
    group.add_argument("--check", metavar="FILE")
    args = ap.parse_args(argv)
    digests = compute()
    if args.write:
        Path(args.write).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
        print(f"{len(digests)} digests written to {args.write}")
        return 0
    expected = json.loads(Path(args.check).read_text())
    changed = sorted(k for k in expected if digests.get(k) != expected[k])
    missing = sorted(set(digests) - set(expected))
    for key in changed:
        print(f"CHANGED {key}")
    print(f"{len(expected) - len(changed)} of {len(expected)} reports byte-identical"
          + (f"; not in the baseline: {missing}" if missing else ""))
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
