"""segengine.dask end to end on a LocalCluster, beside the single-machine Segmenter on the same data.

    python benchmarks/bench_dask.py                 # 5,000,000 records x 10 fields (minutes)
    python benchmarks/bench_dask.py --n 200000      # a quick look

Data: records drawn from 5 Gaussian segments (10 numeric fields, 2 % missing in one field),
written once as a Parquet dataset of ``--partitions`` files (not timed). Timed, on a LocalCluster
of ``--workers`` worker processes with one thread each: ``segengine.dask.fit`` on the Parquet
dataset (every pass, profiles included), ``model.report()``, and writing the labels back with
``predict`` + ``to_parquet``. Peak memory: the peak RSS of each worker process (VmHWM) and of the
driver. The single-machine run (``--single``, in a fresh process for a clean peak RSS) reads the same
Parquet files into one array, fits ``Segmenter`` and computes the report's numbers (profiles and
silhouette; not the per-record ``results`` list, a few GB of Python dicts at this size). Both
runs print JSON; the agreement (same k, adjusted Rand index) is computed from the labels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIELDS = [f"f{j}" for j in range(10)]


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _partition(seed: int, rows: int):
    import pandas as pd

    rng = np.random.default_rng([seed, 17])
    centers = np.random.default_rng(2026).normal(scale=4.0, size=(5, len(FIELDS)))
    lab = rng.integers(0, 5, size=rows)
    X = centers[lab] + rng.normal(size=(rows, len(FIELDS)))
    X[rng.random(rows) < 0.02, 3] = np.nan
    df = pd.DataFrame(X, columns=FIELDS)
    df.insert(0, "id", np.arange(rows, dtype=np.int64) + seed * rows)
    return df


def write_dataset(path: Path, n: int, partitions: int) -> None:
    rows = n // partitions
    path.mkdir(parents=True, exist_ok=True)
    for p in range(partitions):
        _partition(p, rows if p < partitions - 1 else n - rows * (partitions - 1)).to_parquet(
            path / f"part.{p:04d}.parquet", index=False)


def run_single(data: Path, labels_out: Path) -> dict:
    import pandas as pd

    from segengine import Segmenter
    from segengine.model import field_columns
    from segengine.profiling import profile_segments
    from segengine.report import segment_silhouettes

    Segmenter(n_clusters=3).fit(_partition(99, 3000)[FIELDS].to_numpy())  # warm the JIT cache
    t0 = time.perf_counter()
    df = pd.read_parquet(data)
    X = np.ascontiguousarray(df[FIELDS].to_numpy(dtype=np.float64))
    del df
    t1 = time.perf_counter()
    seg = Segmenter(max_records=10_000_000).fit(X)
    t2 = time.perf_counter()
    profile_segments(list(field_columns(seg.preprocessor_, seg.table_)), seg.labels_, seg.n_clusters_)
    overall, _, _ = segment_silhouettes(seg.model_, seg.batch_)
    t3 = time.perf_counter()
    np.save(labels_out, seg.labels_)
    return {"read_s": t1 - t0, "fit_s": t2 - t1, "profiles_silhouette_s": t3 - t2, "total_s": t3 - t0,
            "k": int(seg.n_clusters_), "algorithm": seg.algorithm_, "silhouette": overall,
            "peak_rss_mb": _peak_rss_mb()}


def run_dask(data: Path, out: Path, workers: int) -> dict:
    import dask.dataframe as dd
    import distributed

    import segengine.dask

    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", memory_limit=0) as cluster, \
            distributed.Client(cluster) as client:
        # Warm the JIT cache in every worker so compile time is not counted (as in check.py).
        warm = dd.from_pandas(_partition(99, 3000).drop(columns="id"), npartitions=workers)
        segengine.dask.fit(warm, n_clusters=3).report()
        client.run(_reset_peak)
        t0 = time.perf_counter()
        ddf = dd.read_parquet(data)
        model = segengine.dask.fit(ddf)
        t1 = time.perf_counter()
        body = model.report()
        t2 = time.perf_counter()
        ddf.assign(segment=segengine.dask.predict(model, ddf)).to_parquet(out)
        t3 = time.perf_counter()
        peaks = client.run(_peak_rss_mb)
    return {"fit_s": t1 - t0, "report_s": t2 - t1, "predict_write_s": t3 - t2, "total_s": t3 - t0,
            "k": int(model.n_clusters_), "algorithm": model.algorithm_,
            "silhouette": body["summary"]["silhouette"], "timings_ms": model.timings_ms_,
            "distributed": body["metadata"]["distributed"],
            "worker_peak_rss_mb": sorted(peaks.values()), "driver_peak_rss_mb": _peak_rss_mb()}


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux), so the peak is that of the timed run.
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-single", action="store_true", help="skip the single-machine run")
    parser.add_argument("--single", metavar="DATA", help=argparse.SUPPRESS)
    parser.add_argument("--labels", metavar="NPY", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.single:
        print(json.dumps(run_single(Path(args.single), Path(args.labels))))
        return
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="segengine-bench-dask-") as tmp:
        data = Path(tmp) / "customers"
        write_dataset(data, args.n, args.partitions)
        result = {"n": args.n, "fields": len(FIELDS), "partitions": args.partitions, "workers": args.workers,
                  "cpus": os.cpu_count()}
        result["dask"] = run_dask(data, Path(tmp) / "segmented", args.workers)
        if not args.no_single:
            labels_path = Path(tmp) / "single.npy"
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            proc = subprocess.run([sys.executable, __file__, "--single", str(data), "--labels", str(labels_path)],
                                  capture_output=True, text=True, env=env)
            if proc.returncode == 0:
                result["single"] = json.loads(proc.stdout.strip().splitlines()[-1])
                from sklearn.metrics import adjusted_rand_score

                ids = pd.read_parquet(data, columns=["id"])["id"].to_numpy()
                out = pd.read_parquet(Path(tmp) / "segmented", columns=["id", "segment"])
                dask_labels = pd.Series(out["segment"].to_numpy(), index=out["id"].to_numpy()).loc[ids].to_numpy()
                result["agreement"] = {
                    "same_k": result["single"]["k"] == result["dask"]["k"],
                    "adjusted_rand_index": float(adjusted_rand_score(np.load(labels_path), dask_labels)),
                }
                result["ratio_total_single_over_dask"] = result["single"]["total_s"] / result["dask"]["total_s"]
            else:
                result["single"] = {"failed": proc.stderr.strip().splitlines()[-1:]}
    print(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
