"""Silhouette coefficients (Euclidean) without the n x n distance matrix.

Four entry points share one engine:

* `silhouette_samples` / `silhouette_score`: the same values as scikit-learn's, in O(n * k)
  memory, computed with exact coordinate differences.
* `silhouette_scores_multi`: the exact mean silhouette of several labelings of the same points
  (e.g. k = 2..10) in one pass over the pairs.
* `silhouette_sampled_multi`: the mean silhouette of a random sample of points, each scored
  against all n points, the same sample serving every labeling; with standard errors.
* `simplified_silhouette`: the centroid-based approximation used for per-record confidence.

How the pass works. The distance between two points does not depend on the labeling, so for a
set of m labelings the points are grouped into "cells": points carrying the same tuple of labels
across all m labelings. Each point's distances are summed once per cell (the points are sorted by
cell so that a cell is a contiguous, vectorisable range); the per-cluster sums of every labeling
are then sums of cells. When the cells are too many (structureless data, many labelings), the
distances are instead added straight into one accumulator per labeling and cluster.

When every point is scored (the exact functions), each pair of points is visited once and its
distance serves both points: the points are cut into a few super-blocks, every pair of
super-blocks (and every super-block with itself) is one unit of work with private buffers, and
the buffers are merged in a fixed order. When only a sample is scored, each sampled point is
compared with all n points. In every scheme, the additions happen in an order that does not
depend on the number of threads, so neither do the results.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from segengine import config
from segengine.concurrency import guarded, map_two_threads, needs_serialising
from segengine.metrics import _silhouette_kernels as _k, _silhouette_metric_kernels as _mk

__all__ = [
    "silhouette_samples",
    "silhouette_rows",
    "silhouette_score",
    "silhouette_scores_multi",
    "silhouette_sampled_multi",
    "simplified_silhouette",
    "count_cells",
]


# ----------------------------------------------------------------------------------------------
# validation helpers


def _check_X(X: ArrayLike) -> NDArray[np.float64]:
    """Return X as a finite 2-D float64 array (a copy only when needed; never mutated)."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be a 2-D array, got an array of shape {arr.shape}.")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"X must have at least one sample and one feature, got shape {arr.shape}.")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric, got dtype {arr.dtype}.")
    # float32 is widened: the kernels accumulate in float64 and a float32 copy would save little.
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("X contains NaN or infinity.")
    return arr


def _encode_labels(
    labels: ArrayLike, n: int, name: str = "labels"
) -> tuple[NDArray[np.int64], int]:
    """Remap any labels to 0..k-1; returns (codes, k)."""
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {lab.shape}.")
    if lab.shape[0] != n:
        raise ValueError(f"{name} has {lab.shape[0]} entries but X has {n} samples.")
    if lab.dtype.kind in "iu" and n > 0:
        lo, hi = int(lab.min()), int(lab.max())
        if hi - lo <= 4 * n + 1024 and -(2**62) < lo and hi < 2**62:
            # Integer labels of modest range: an O(n) remap (np.unique sorts, ~20 ms at 250k).
            return _compress(lab.astype(np.int64) - lo, hi - lo + 1)
    uniq, codes = np.unique(lab, return_inverse=True)
    return codes.astype(np.int64, copy=False).reshape(-1), int(uniq.shape[0])


def _compress(key: NDArray[np.int64], bound: int) -> tuple[NDArray[np.int64], int]:
    """Map keys in 0..bound-1 to 0..G-1 keeping their order; returns (ids, G)."""
    present = np.bincount(key, minlength=bound) > 0
    remap = np.cumsum(present) - 1
    return remap[key].astype(np.int64, copy=False), int(remap[-1]) + 1


def _check_n_labels(k: int, n: int) -> None:
    # Same condition and wording as scikit-learn, so callers can catch the same ValueError.
    if not 2 <= k <= n - 1:
        raise ValueError(
            f"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)"
        )


def _encode_labelings(labelings: ArrayLike, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    lab = np.asarray(labelings)
    if lab.ndim != 2:
        raise ValueError(f"labelings must be a 2-D array (m, n_samples), got shape {lab.shape}.")
    if lab.shape[1] != n:
        raise ValueError(f"labelings have {lab.shape[1]} columns but X has {n} samples.")
    codes = np.empty(lab.shape, dtype=np.int64)
    ks = np.empty(lab.shape[0], dtype=np.int64)
    for i in range(lab.shape[0]):
        codes[i], ks[i] = _encode_labels(lab[i], n, name=f"labelings[{i}]")
    return codes, ks


def _rng(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # Draw a seed so that a legacy RandomState still drives the draw reproducibly.
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


def _sample_rows(n: int, sample_size: int, rng: np.random.Generator) -> NDArray[np.int64]:
    rows = rng.choice(n, size=sample_size, replace=False)
    # Sorted rows make the kernels' reads more regular and the output order canonical.
    return np.sort(rows).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# engine


@dataclass(frozen=True)
class RowSums:
    """What a sampled pass over several labelings leaves behind: each row's distance sums per cell.

    A cell is a set of points with the same label under every labeling of the pass. Any other
    labeling of the same points whose clusters are (nearly) unions of cells can be scored on the
    same rows from these sums, plus the distances to the points that break the pattern
    (`silhouette_rows_from_sums`).

    Attributes
    ----------
    rows : numpy.ndarray of shape (r,), int64
        The scored points (indices into X), in the order of ``sums``' rows.
    cell : numpy.ndarray of shape (n,), int64
        Cell of every point, 0..G-1.
    sums : numpy.ndarray of shape (r, G), float64
        Sum of the distances from point ``rows[i]`` to the points of cell g.
    """

    rows: NDArray[np.int64]
    cell: NDArray[np.int64]
    sums: NDArray[np.float64]


def _cells(
    codes: NDArray[np.int64], ks: NDArray[np.int64], max_cells: int
) -> NDArray[np.int64] | None:
    """Cell id of every point, or None when there would be more than ``max_cells`` cells.

    Cells are numbered 0..G-1 in lexicographic order of the label tuples.
    """
    m, n = codes.shape
    cell = codes[0]
    n_cells = int(ks[0])
    for i in range(1, m):
        # Combining one labeling at a time keeps the keys below n_cells * k (no overflow).
        key = cell * ks[i] + codes[i]
        bound = n_cells * int(ks[i])
        if bound <= 8 * n + 1024:
            cell, n_cells = _compress(key, bound)
        else:
            uniq, cell = np.unique(key, return_inverse=True)
            cell, n_cells = cell.reshape(-1).astype(np.int64, copy=False), int(uniq.shape[0])
        if n_cells > max_cells:
            return None
    return cell if n_cells <= max_cells else None


def _default_max_cells(n: int) -> int:
    # Per scored point, the cell scheme costs one term per cell and labeling; the per-labeling
    # accumulation costs one per point and labeling. So cells pay while they are well below n.
    return max(config.SILHOUETTE_MAX_CELLS, int(n * config.SILHOUETTE_MAX_CELLS_FRACTION))


def _use_parallel(n_rows: int, n_points: int) -> bool:
    # Deliberately independent of the thread count: the serial and parallel kernels give the
    # same values, but the choice should not even depend on it.
    return n_rows >= 2 * 16 and n_rows * n_points >= config.SILHOUETTE_PARALLEL_MIN_PAIRS


def _two_threads_pay(n_rows: int, n_points: int) -> bool:
    # Below the parallel kernels' size, two Python threads running the serial kernel on halves
    # of the rows (numba releases the GIL) save a third to a half of a 10,000-record search's
    # silhouettes, without compiling a parallel variant. Not while the caller holds the lock of a
    # threading layer that serialises the engines (the workers would wait for it forever).
    return (n_rows >= 2 * 64 and n_rows * n_points >= config.SILHOUETTE_THREADS_MIN_PAIRS
            and (os.cpu_count() or 1) > 1 and not needs_serialising())


def _rows_kernel(kernel: Any, XT: np.ndarray, rows: np.ndarray, middle: tuple, own_flat: np.ndarray,
                 tail: tuple, out: np.ndarray, threads: bool, keep: np.ndarray | None = None) -> None:
    """``kernel(XT, rows, *middle, own_flat, *tail, out)``, on two threads by halves of ``rows``.

    Every row is computed start to end on its own, so the halves give the very same numbers.
    ``keep`` (rows x cells, the cell scheme's serial kernel only) receives each row's cell sums.
    """
    extra = {} if keep is None else {"keep": keep}
    if not threads:
        kernel(XT, rows, *middle, own_flat, *tail, out, **extra)
        return
    h = rows.shape[0] // 2
    halves = [slice(0, h), slice(h, rows.shape[0])]
    parts = [(np.ascontiguousarray(rows[half]), np.ascontiguousarray(own_flat[:, half]),
              np.empty((out.shape[0], half.stop - half.start)),
              {} if keep is None else {"keep": keep[half]}) for half in halves]
    map_two_threads(lambda part: kernel(XT, part[0], *middle, part[1], *tail, part[2], **part[3]), parts)
    out[:, :h] = parts[0][2]
    out[:, h:] = parts[1][2]


def _block_rows(n_rows: int) -> int:
    # Each row is computed start to end by one thread, so the block size changes the speed,
    # never the result; it is still fixed independently of the thread count.
    return int(min(config.BLOCK_ROWS, max(16, -(-n_rows // 8))))


def _pair_units(n_blocks: int) -> NDArray[np.int64]:
    """Units of work covering every pair of super-blocks once, all of about the same cost.

    (A, B, 0) for every A < B, and (A, A + 1, 1) for the pairs within A and within A + 1 (two
    half-cost triangles make one unit), so that numba's static split of a prange over the
    units balances for any thread count.
    """
    units = [(a, a + 1 if a + 1 < n_blocks else -1, 1) for a in range(0, n_blocks, 2)]
    units += [(a, b, 0) for a in range(n_blocks) for b in range(a + 1, n_blocks)]
    return np.array(units, dtype=np.int64).reshape(-1, 3)


def _silhouette_rows(
    X: NDArray[np.float64],
    codes: NDArray[np.int64],
    ks: NDArray[np.int64],
    rows: NDArray[np.int64] | None,
    max_cells: int | None = None,
    kept: list | None = None,
) -> NDArray[np.float64]:
    """Silhouette of the points ``rows`` (None: all points) against all points, per labeling.

    ``codes`` (m, n) are labels remapped to 0..k-1 (every cluster non-empty, k >= 2).
    Returns an (m, len(rows)) array. With all points and few enough cells, each pair is
    visited once and serves both of its points (half the work). When ``kept`` is a list and
    sampled rows go through the serial cell scheme, their `RowSums` are appended to it.
    """
    if max_cells is None:
        max_cells = _default_max_cells(codes.shape[1])
    m, n = codes.shape
    all_rows = rows is None
    if rows is None:
        rows = np.arange(n, dtype=np.int64)
    offsets = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(ks, out=offsets[1:])
    flat = codes + offsets[:-1, None]
    sizes = np.bincount(flat.ravel(), minlength=int(offsets[-1])).astype(np.int64)
    own_flat = np.ascontiguousarray(flat[:, rows])
    out = np.empty((m, rows.shape[0]), dtype=np.float64)
    block = _block_rows(rows.shape[0])
    # Distances computed: n^2 / 2 when all points are scored (each pair once), else rows x n.
    parallel = _use_parallel(rows.shape[0], n // 2 if all_rows else n)
    threads = not parallel and _two_threads_pay(rows.shape[0], n)

    cell = _cells(codes, ks, max_cells)
    if cell is not None:
        # A 16-bit key gets numpy's radix sort (10x faster than sorting int64 at 250k).
        small = cell.astype(np.int16) if cell.shape[0] and cell.max() < 2**15 else cell
        order = np.argsort(small, kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n, dtype=np.int64)
        counts = np.bincount(cell)
        starts = np.zeros(counts.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        # Every member of a cell has the same labels: read them off the cell's first member.
        cell_flat = np.ascontiguousarray(flat[:, order[starts[:-1]]])
        XT = np.ascontiguousarray(X[order].T)
        n_cells = starts.shape[0] - 1
        tile = _k.CHUNK
        # Super-blocks: a fixed count (never the thread count) of whole tiles, so that the
        # results do not depend on the threads.
        n_tiles = -(-n // tile)
        super_size = tile * -(-n_tiles // config.SILHOUETTE_SYMMETRIC_BLOCKS)
        units = _pair_units(-(-n // super_size))
        cell_sorted = cell[order]
        firsts = cell_sorted[::super_size]
        lasts = cell_sorted[np.minimum(np.arange(super_size, n + super_size, super_size), n) - 1]
        span = int(np.max(lasts - firsts + 1))
        # Per-unit buffers (2 super-blocks x the cells of one) plus the cells x points result.
        sym_bytes = (2 * units.shape[0] * super_size * span + n * n_cells) * 8
        if all_rows and sym_bytes <= config.SILHOUETTE_SYMMETRIC_MAX_BYTES:
            own_sorted = np.ascontiguousarray(flat[:, order])
            out_sorted = np.empty((m, n), dtype=np.float64)
            kernel = _k.silhouette_sym_parallel if parallel else _k.silhouette_sym_serial
            kernel(XT, starts, cell_sorted, units, super_size, tile, span, cell_flat, own_sorted,
                   sizes, offsets, block, out_sorted)
            return np.ascontiguousarray(out_sorted[:, position])
        # Each block holds rows x cells sums: keep that near 4 MB when the cells are many.
        block = max(16, min(block, (1 << 19) // max(n_cells + int(offsets[-1]), 1)))
        kernel = _k.silhouette_cells_parallel if parallel else _k.silhouette_cells_serial
        keep = None
        if kept is not None and not parallel and not all_rows:
            keep = np.empty((rows.shape[0], n_cells), dtype=np.float64)
        _rows_kernel(kernel, XT, position[rows], (starts, cell_flat), own_flat, (sizes, offsets, block),
                     out, threads, keep)
        if keep is not None:
            kept.append(RowSums(rows=rows, cell=cell, sums=keep))
    else:
        XT = np.ascontiguousarray(X.T)
        flat_idx = np.ascontiguousarray(flat)
        kernel = _k.silhouette_scatter_parallel if parallel else _k.silhouette_scatter_serial
        _rows_kernel(kernel, XT, rows, (flat_idx,), own_flat, (sizes, offsets, block), out, threads)
    return out


# ----------------------------------------------------------------------------------------------
# public API


@guarded
def silhouette_samples(
    X: ArrayLike, labels: ArrayLike, *, metric: str | Any = "euclidean", **kwds: Any
) -> NDArray[np.float64]:
    """Silhouette coefficient of every sample.

    Equal to :func:`sklearn.metrics.silhouette_samples` (to about 1e-12 on float64 data), but
    the memory is O(n * k): the n x n distance matrix is never formed. Distances are computed
    from coordinate differences, which keeps full precision for near-duplicate points and for
    data far from the origin (where scikit-learn's dot-product formula loses digits). float32
    input is computed in float64 (scikit-learn works in float32 there and agrees to ~1e-6).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Points (float64 or float32; other numeric types are converted). Must be finite.
        With ``metric="precomputed"``: the (n_samples, n_samples) distance matrix, dense or
        sparse (entries not stored are 0), with a zero diagonal.
    labels : array-like of shape (n_samples,)
        Cluster label of every point; any values (they are remapped internally).
    metric : str or callable, default="euclidean"
        "euclidean" (the O(n * k)-memory engine above; sparse points too), "precomputed",
        "manhattan" ("cityblock", "l1") and "cosine" run in numba without scikit-learn;
        any other metric of ``sklearn.metrics.pairwise_distances`` (or a callable) is
        computed by it, imported only then.
    **kwds
        Passed to ``pairwise_distances`` for the other metrics.

    Returns
    -------
    ndarray of shape (n_samples,), float64
        ``(b - a) / max(a, b)`` per point, with ``a`` the mean distance to the other members of
        its cluster and ``b`` the smallest mean distance to the members of another cluster.
        Points alone in their cluster score 0, as in scikit-learn.

    Raises
    ------
    ValueError
        If the number of distinct labels is not in ``2..n_samples - 1``, or the input is
        malformed.
    """
    if not _is_plain_euclidean(X, metric, kwds):
        return _other_metric_rows(X, labels, metric, kwds, None)
    Xc = _check_X(X)
    n = Xc.shape[0]
    codes, k = _encode_labels(labels, n)
    _check_n_labels(k, n)
    return _silhouette_rows(Xc, codes[None, :], np.array([k], dtype=np.int64), None)[0]


@guarded
def silhouette_rows(X: ArrayLike, labels: ArrayLike, rows: ArrayLike) -> NDArray[np.float64]:
    """Silhouette coefficient of some points, each scored exactly against all points.

    ``silhouette_rows(X, labels, rows)`` equals ``silhouette_samples(X, labels)[rows]`` at a
    cost of ``len(rows) * n`` distances instead of ``n * n / 2``: per-point values for the
    sample of `silhouette_sampled_multi` (e.g. per-segment silhouettes at 250k records).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points; see `silhouette_samples`.
    labels : array-like of shape (n_samples,)
        Cluster label of every point.
    rows : array-like of int, shape (r,)
        Indices of the points to score (any order; repeats allowed).

    Returns
    -------
    ndarray of shape (r,), float64
        The silhouette of each requested point, in the order of ``rows``.

    Raises
    ------
    ValueError
        If the number of distinct labels is not in ``2..n_samples - 1``, an index is out of
        range, or the input is malformed.
    """
    Xc = _check_X(X)
    n = Xc.shape[0]
    codes, k = _encode_labels(labels, n)
    _check_n_labels(k, n)
    idx = np.asarray(rows)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError("rows must be a 1-D array of integer indices.")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"rows must be indices in 0..{n - 1}.")
    if idx.size == 0:
        return np.empty(0, dtype=np.float64)
    return _silhouette_rows(Xc, codes[None, :], np.array([k], dtype=np.int64), idx)[0]


@guarded
def silhouette_score(
    X: ArrayLike,
    labels: ArrayLike,
    *,
    metric: str | Any = "euclidean",
    sample_size: int | None = None,
    random_state: Any = None,
    **kwds: Any,
) -> float:
    """Mean silhouette coefficient.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points; see `silhouette_samples`.
    labels : array-like of shape (n_samples,)
        Cluster label of every point.
    metric : str or callable, default="euclidean"
        See `silhouette_samples`.
    sample_size : int, optional
        None (default): the exact mean over all points, equal to
        :func:`sklearn.metrics.silhouette_score`. An int: the mean over a random sample of that
        many points (without replacement), **each sampled point scored exactly against all
        n points**. This differs on purpose from scikit-learn, which restricts both the scored
        points and the points they are compared with to the sample (a biased, noisier
        estimate); here only the averaging is sampled, so the estimate is unbiased. A sample
        size of at least n gives the exact value.
    random_state : int, numpy Generator or RandomState, optional
        Seed of the sample; used only with ``sample_size``. None draws fresh entropy.

    Returns
    -------
    float
        Mean silhouette coefficient, in [-1, 1].

    Raises
    ------
    ValueError
        If the number of distinct labels is not in ``2..n_samples - 1`` (checked on all
        labels), ``sample_size < 1``, or the input is malformed.
    """
    if not _is_plain_euclidean(X, metric, kwds):
        n = _n_rows(X)
        rows = _score_rows(n, sample_size, random_state)
        return float(np.mean(_other_metric_rows(X, labels, metric, kwds, rows)))
    Xc = _check_X(X)
    n = Xc.shape[0]
    codes, k = _encode_labels(labels, n)
    _check_n_labels(k, n)
    rows = _score_rows(n, sample_size, random_state)
    s = _silhouette_rows(Xc, codes[None, :], np.array([k], dtype=np.int64), rows)[0]
    return float(np.mean(s))


def _score_rows(n: int, sample_size: Any, random_state: Any) -> NDArray[np.int64] | None:
    if sample_size is None or int(sample_size) >= n:
        return None
    if int(sample_size) != sample_size or sample_size < 1:
        raise ValueError(f"sample_size must be a positive integer, got {sample_size!r}.")
    return _sample_rows(n, int(sample_size), _rng(random_state))


# ----------------------------------------------------------------------------------------------
# other metrics, precomputed distances and sparse input

_NUMBA_METRICS = {
    "euclidean": _mk.EUCLIDEAN, "l2": _mk.EUCLIDEAN,
    "manhattan": _mk.MANHATTAN, "cityblock": _mk.MANHATTAN, "l1": _mk.MANHATTAN,
    "cosine": _mk.COSINE,
}


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _is_plain_euclidean(X: Any, metric: Any, kwds: dict) -> bool:
    return isinstance(metric, str) and metric == "euclidean" and not kwds and not _is_sparse(X)


def _n_rows(X: Any) -> int:
    return int(X.shape[0]) if _is_sparse(X) else int(np.asarray(X).shape[0])


def _as_csr(X: Any, dtype=None):
    X = X.tocsr()
    if X.data.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric, got dtype {X.data.dtype}.")
    if not np.isfinite(X.data).all():
        raise ValueError("X contains NaN or infinity.")
    return X


def _check_precomputed_diagonal(diag: np.ndarray) -> None:
    # scikit-learn's rule: float diagonals within 100 eps of zero, integer ones exactly zero.
    bad = np.any(np.abs(diag) > np.finfo(diag.dtype).eps * 100) if diag.dtype.kind == "f" else np.any(diag != 0)
    if bad:
        raise ValueError(
            "The precomputed distance matrix contains non-zero elements on the diagonal. "
            "Use np.fill_diagonal(X, 0)."
        )


def _other_metric_rows(
    X: Any, labels: ArrayLike, metric: Any, kwds: dict, rows: NDArray[np.int64] | None
) -> NDArray[np.float64]:
    """Silhouettes of ``rows`` (None: all) under any metric, from per-cluster distance sums."""
    sparse = _is_sparse(X)
    if sparse:
        Xs = _as_csr(X)
        n = Xs.shape[0]
    else:
        arr = np.asarray(X)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"X must be a non-empty 2-D array, got shape {arr.shape}.")
        if arr.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {arr.dtype}.")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError("X contains NaN or infinity.")
        n = arr.shape[0]
    codes, k = _encode_labels(labels, n)
    _check_n_labels(k, n)
    sizes = np.bincount(codes, minlength=k).astype(np.int64)
    if isinstance(metric, str) and metric == "precomputed":
        shape = Xs.shape if sparse else arr.shape
        if shape[0] != shape[1]:
            raise ValueError(f"A precomputed distance matrix must be square, got shape {shape}.")
        if sparse:
            _check_precomputed_diagonal(Xs.diagonal())
            sums = _mk.precomputed_csr_sums(Xs.data, Xs.indices, Xs.indptr, codes, k)
        else:
            _check_precomputed_diagonal(np.diagonal(arr))
            sums = _mk.precomputed_dense_sums(np.ascontiguousarray(arr, dtype=np.float64), codes, k)
    elif isinstance(metric, str) and metric in _NUMBA_METRICS:
        code = _NUMBA_METRICS[metric]
        if sparse:
            X64 = Xs.astype(np.float64)
            X64.sum_duplicates()
            C = X64.tocsc()
            sq = np.asarray(X64.multiply(X64).sum(axis=1), dtype=np.float64).ravel()
            l1 = np.asarray(abs(X64).sum(axis=1), dtype=np.float64).ravel()
            sums = _mk.csr_metric_sums(X64.data, X64.indices, X64.indptr, C.data, C.indices, C.indptr,
                                       codes, k, code, sq, l1)
        else:
            Xd = np.ascontiguousarray(arr, dtype=np.float64)
            norms = np.sqrt(np.einsum("ij,ij->i", Xd, Xd))
            sums = _mk.dense_metric_sums(np.ascontiguousarray(Xd.T), codes, k, code, norms)
    else:
        # Any other metric: scikit-learn's pairwise distances, imported only here (the report
        # path never comes this way). Only the scored rows against all rows.
        from sklearn.metrics import pairwise_distances

        src = Xs if sparse else arr
        first = src if rows is None else src[rows]
        D = pairwise_distances(first, src, metric=metric, **kwds)
        s = _mk.silhouette_from_sums(
            _mk.precomputed_dense_sums(np.ascontiguousarray(D, dtype=np.float64), codes, k),
            codes if rows is None else np.ascontiguousarray(codes[rows]), sizes)
        return s
    out = _mk.silhouette_from_sums(sums, codes, sizes)
    return out if rows is None else out[rows]


def _valid_labelings(
    X: ArrayLike, labelings: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    Xc = _check_X(X)
    n = Xc.shape[0]
    codes, ks = _encode_labelings(labelings, n)
    valid = (ks >= 2) & (ks <= n - 1)
    return Xc, codes, ks, valid


@guarded
def silhouette_scores_multi(
    X: ArrayLike, labelings: ArrayLike, *, max_cells: int | None = None
) -> NDArray[np.float64]:
    """Exact mean silhouette of several labelings of the same points, in one pass over pairs.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points; see `silhouette_samples`.
    labelings : array-like of shape (m, n_samples)
        m candidate labelings (e.g. the KMeans labels for k = 2..10).
    max_cells : int, optional
        Largest number of cells (distinct tuples of labels across the labelings, see
        `count_cells`) for which the per-cell scheme is used; above it each distance is added
        to every labeling's clusters directly. Both give the same values (to rounding); the
        default is ``max(config.SILHOUETTE_MAX_CELLS, config.SILHOUETTE_MAX_CELLS_FRACTION *
        n_samples)``.

    Returns
    -------
    ndarray of shape (m,), float64
        The mean silhouette of each labeling, equal to ``silhouette_score(X, labelings[i])``;
        NaN for a labeling with fewer than 2 or more than n - 1 clusters (where
        `silhouette_score` raises), so the caller can skip it.

    Notes
    -----
    The cost is about n^2 / 2 distances whatever m is, when the cells are few: KMeans labelings
    of data with some structure give tens of cells (~45 ms for 9 labelings of 10,000 x 10 on
    two idle cores). Structureless data can give thousands of cells and a pass 5-10x slower:
    a caller with a time budget can check `count_cells` first and use
    `silhouette_sampled_multi` instead.
    """
    Xc, codes, ks, valid = _valid_labelings(X, labelings)
    means = np.full(codes.shape[0], np.nan)
    if valid.any():
        s = _silhouette_rows(Xc, codes[valid], ks[valid], None, max_cells)
        means[valid] = s.mean(axis=1)
    return means


@guarded
def silhouette_sampled_multi(
    X: ArrayLike,
    labelings: ArrayLike,
    *,
    sample_size: int = config.SILHOUETTE_SAMPLE_SIZE,
    random_state: Any = None,
    max_cells: int | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sampled mean silhouette of several labelings, with standard errors.

    One random sample of points (without replacement) serves every labeling, and every sampled
    point is scored exactly against all n points; only the averaging is sampled. Sharing the
    sample makes the comparison between labelings much sharper than independent samples
    (their errors are strongly correlated), and scoring against all points removes the bias of
    scikit-learn's ``sample_size``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points; see `silhouette_samples`.
    labelings : array-like of shape (m, n_samples)
        m candidate labelings.
    sample_size : int, default ``config.SILHOUETTE_SAMPLE_SIZE``
        Points to score (at least 2). At least n gives the exact means and zero errors.
    random_state : int, numpy Generator or RandomState, optional
        Seed of the sample. None means seed 0, so that the same call always gives the same
        answer (the k choice built on it must be reproducible).
    max_cells : int, optional
        See `silhouette_scores_multi`.

    Returns
    -------
    means : ndarray of shape (m,)
        Mean silhouette of the sampled points under each labeling (NaN for a labeling with
        fewer than 2 or more than n - 1 clusters).
    stderrs : ndarray of shape (m,)
        Standard error of each mean: ``std(s, ddof=1) / sqrt(s) * sqrt(1 - s / n)``, the last
        factor being the finite-population correction (sampling without replacement).
    """
    if int(sample_size) != sample_size or sample_size < 2:
        raise ValueError(f"sample_size must be an integer >= 2, got {sample_size!r}.")
    Xc, codes, ks, valid = _valid_labelings(X, labelings)
    n = Xc.shape[0]
    m = codes.shape[0]
    means = np.full(m, np.nan)
    stderrs = np.full(m, np.nan)
    size = min(int(sample_size), n)
    rng = _rng(0 if random_state is None else random_state)
    rows = None if size >= n else _sample_rows(n, size, rng)
    if valid.any():
        s = _silhouette_rows(Xc, codes[valid], ks[valid], rows, max_cells)
        means[valid] = s.mean(axis=1)
        if size >= 2:
            fpc = math.sqrt(max(0.0, 1.0 - size / n))
            stderrs[valid] = s.std(axis=1, ddof=1) / math.sqrt(size) * fpc
    return means, stderrs


@guarded
def silhouette_rows_multi(
    X: ArrayLike, labelings: ArrayLike, rows: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Exact per-point silhouettes of some points under several labelings, in one pass.

    What `silhouette_scores_multi` and `silhouette_sampled_multi` average, kept per point so
    that a caller can reuse the values of the labeling it chooses (e.g. per-segment means).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labelings : array-like of shape (m, n_samples)
    rows : array-like of int, optional
        The points to score (against all points); None scores every point, each pair once.

    Returns
    -------
    ndarray of shape (m, len(rows)) (or (m, n_samples))
        NaN rows for labelings with fewer than 2 or more than n - 1 clusters.
    """
    Xc, codes, ks, valid = _valid_labelings(X, labelings)
    n = Xc.shape[0]
    idx = None if rows is None else np.ascontiguousarray(np.asarray(rows, dtype=np.int64))
    out = np.full((codes.shape[0], n if idx is None else idx.shape[0]), np.nan)
    if valid.any():
        out[valid] = _silhouette_rows(Xc, codes[valid], ks[valid], idx)
    return out


def silhouette_rows_multi_kept(
    X: ArrayLike, labelings: ArrayLike, rows: ArrayLike
) -> tuple[NDArray[np.float64], RowSums | None]:
    """`silhouette_rows_multi` of sampled ``rows``, keeping the rows' distance sums per cell.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labelings : array-like of shape (m, n_samples)
    rows : array-like of int
        The points to score against all points.

    Returns
    -------
    values : ndarray of shape (m, len(rows))
        As `silhouette_rows_multi` returns them (the same numbers).
    sums : RowSums or None
        For `silhouette_rows_from_sums`; None when the pass did not go through cells (too many
        of them, a size that takes the parallel kernel, or no valid labeling).
    """
    Xc, codes, ks, valid = _valid_labelings(X, labelings)
    idx = np.ascontiguousarray(np.asarray(rows, dtype=np.int64))
    out = np.full((codes.shape[0], idx.shape[0]), np.nan)
    kept: list = []
    if valid.any():
        out[valid] = _silhouette_rows(Xc, codes[valid], ks[valid], idx, kept=kept)
    return out, (kept[0] if kept else None)


def silhouette_rows_from_sums(
    X: ArrayLike, labels: ArrayLike, sums: RowSums, max_moved: float = config.SILHOUETTE_REUSE_MAX_MOVED
) -> NDArray[np.float64] | None:
    """`silhouette_rows` of ``sums.rows`` under ``labels``, from a previous pass's cell sums.

    Each cell is given the label most of its points carry; a cluster's sum is then the sum of its
    cells' sums, corrected by the distances to the points whose label differs from their cell's
    (the only distances computed). The values equal `silhouette_rows(X, labels, sums.rows)` up
    to the order of the additions (a few units in the last place).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points of the pass that made ``sums``.
    labels : array-like of shape (n_samples,)
        Cluster label of every point.
    sums : RowSums
        From `silhouette_rows_multi_kept` on the same X.
    max_moved : float
        Largest fraction of points off their cell's label for which this pays; above it, None.

    Returns
    -------
    ndarray of shape (len(sums.rows),) or None
        None when more points than ``max_moved`` disagree with their cell (score directly).

    Raises
    ------
    ValueError
        If the number of distinct labels is not in ``2..n_samples - 1``, or X does not have the
        points the sums were made from.
    """
    Xc = _check_X(X)
    n = Xc.shape[0]
    if sums.cell.shape[0] != n:
        raise ValueError(f"the sums were made from {sums.cell.shape[0]} points, X has {n}.")
    codes, k = _encode_labels(labels, n)
    _check_n_labels(k, n)
    n_cells = sums.sums.shape[1]
    majority = np.bincount(sums.cell * k + codes, minlength=n_cells * k).reshape(n_cells, k).argmax(axis=1)
    home = majority[sums.cell]
    moved = np.flatnonzero(codes != home)
    if moved.size > max_moved * n:
        return None
    r = sums.rows.shape[0]
    cluster = np.zeros((r, k))
    for g in range(k):
        cells = np.flatnonzero(majority == g)
        if cells.size:
            cluster[:, g] = sums.sums[:, cells].sum(axis=1)
    if moved.size:
        # The movers grouped by the (cell's label, own label) pairs that occur: one pass of
        # r x movers distances, whose sums leave the first cluster and join the second.
        pairs, pair = np.unique(home[moved] * k + codes[moved], return_inverse=True)
        pair = pair.reshape(-1)
        order = np.argsort(pair, kind="stable")
        starts = np.zeros(pairs.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair, minlength=pairs.size), out=starts[1:])
        m = moved.size
        # The scored points sit after the movers, outside every group (see _group_sums_into).
        XT = np.ascontiguousarray(np.vstack([Xc[moved[order]], Xc[sums.rows]]).T)
        scored = np.arange(m, m + r, dtype=np.int64)
        by_pair = np.empty((r, pairs.size))

        def part(half: slice) -> None:
            nr = half.stop - half.start
            _k._group_sums_into(XT, scored, starts, half.start, half.stop,
                                np.empty(((nr + 3) // 4 * 4, XT.shape[0])), np.empty((4, _k.CHUNK)),
                                by_pair[half])

        h = r // 2 if _two_threads_pay(r, m) else r
        map_two_threads(part, [slice(0, h), slice(h, r)] if h < r else [slice(0, r)])
        leaving = np.zeros((r, k))
        np.add.at(leaving.T, pairs // k, by_pair.T)
        cluster -= leaving
        np.add.at(cluster.T, pairs % k, by_pair.T)
    else:
        leaving = None
    own = codes[sums.rows]
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    at = np.arange(r)
    # Rousseeuw's and scikit-learn's conventions, as the kernels apply them: a point alone in
    # its cluster scores 0, and so does a point with a = b = 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        a = cluster[at, own] / (sizes[own] - 1.0)
        means = cluster / sizes
        means[at, own] = np.inf
        b = means.min(axis=1)
        top = np.maximum(a, b)
        s = np.where((sizes[own] > 1) & (top > 0.0) & np.isfinite(b), (b - a) / top, 0.0)
    if leaving is not None:
        # A mover far from the rest of its cell leaves a small difference of large sums: when
        # the rounding of that subtraction could reach 1e-9 of a row's silhouette scale, score
        # directly instead.
        err = (4.0 * np.finfo(np.float64).eps * leaving / np.maximum(sizes - 1.0, 1.0)).max(axis=1)
        if np.any(err > 1e-9 * np.where(np.isfinite(top), top, 0.0)):
            return None
    return s


def simplified_silhouette(d1: ArrayLike, d2: ArrayLike) -> NDArray[np.float64]:
    """Simplified (centroid) silhouette of every point.

    Parameters
    ----------
    d1 : array-like of shape (n,)
        SQUARED distance of each point to its nearest centre (its own cluster's).
    d2 : array-like of shape (n,)
        SQUARED distance of each point to its second-nearest centre.

    Returns
    -------
    ndarray of shape (n,), float64
        ``(b - a) / max(a, b)`` with ``a = sqrt(d1)``, ``b = sqrt(d2)``; 0 where both are 0.
        With ``d1 <= d2`` this lies in [0, 1] and equals ``1 - a / b``.
    """
    a = np.ascontiguousarray(d1, dtype=np.float64).reshape(-1)
    b = np.ascontiguousarray(d2, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"d1 and d2 must have the same length, got {a.shape[0]} and {b.shape[0]}.")
    out = np.empty_like(a)
    _k.simplified_silhouette_kernel(a, b, out)
    return out


def count_cells(labelings: ArrayLike) -> int:
    """Number of cells (distinct tuples of labels across the labelings) of a set of labelings.

    The cost of `silhouette_scores_multi` grows with it: the exact pass that uses each pair
    once needs a cells x n accumulator (``config.SILHOUETTE_SYMMETRIC_MAX_BYTES``); beyond,
    each pair is computed twice; beyond ``max(config.SILHOUETTE_MAX_CELLS, n / 4)`` cells,
    each distance is also added once per labeling, several times slower again. Structureless
    data (no clear clusters) give thousands of cells, and a caller choosing between the exact
    and the sampled silhouette can look at this first.

    Parameters
    ----------
    labelings : array-like of shape (m, n_samples)
        m labelings of the same points (any label values).

    Returns
    -------
    int
        The number of cells, between 1 and n_samples.
    """
    lab = np.asarray(labelings)
    if lab.ndim == 1:
        lab = lab[None, :]
    codes, ks = _encode_labelings(lab, lab.shape[1])
    cell = _cells(codes, ks, lab.shape[1] + 1)
    return int(cell.max()) + 1 if cell is not None and cell.size else 0
