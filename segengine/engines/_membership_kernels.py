"""numba kernel of `segengine.engines.memberships`: squared distances of records to centres.

The squared distance of a record to a centre is summed in a fixed order: two interleaved
partial sums (even and odd features), each fed eight features at a time from the highest to the
lowest, added together at the end. That is the order numpy's ``einsum("ij,ij->i")`` used on
x86-64 (two float64 lanes, unrolled by four) in the numpy code these kernels replace, so reports
stayed byte-identical when the pipeline moved onto them (tools/report_digests.py). Unlike the
einsum, the order no longer depends on the CPU numpy was built for. The options are the strict
set: fused multiply-adds or reassociation would change the last bits.
"""

from __future__ import annotations

import numba

from segengine import config

_NJIT = config.NJIT_STRICT_OPTIONS


@numba.njit(**_NJIT)
def sq_distances(X, C, out):
    """Fill ``out`` (n, k) with the squared Euclidean distance of every row of ``X`` to every centre.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, C-contiguous
    C : ndarray of shape (k, d), float64, C-contiguous
    out : ndarray of shape (n, k), float64, written
    """
    n, d = X.shape
    k = C.shape[0]
    for i in range(n):
        for j in range(k):
            even = 0.0
            odd = 0.0
            t = 0
            while d - t >= 8:
                u = t + 6
                while u >= t:
                    v = X[i, u] - C[j, u]
                    even = v * v + even
                    v = X[i, u + 1] - C[j, u + 1]
                    odd = v * v + odd
                    u -= 2
                t += 8
            while d - t > 0:
                v = X[i, t] - C[j, t]
                even = v * v + even
                if d - t >= 2:
                    v = X[i, t + 1] - C[j, t + 1]
                    odd = v * v + odd
                t += 2
            out[i, j] = even + odd
