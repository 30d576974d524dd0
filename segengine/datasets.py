"""Embedded synthetic data sets: demo customers and numeric benchmark records.

Everything here is generated from a seeded ``numpy.random.Generator``; nothing is downloaded
and nothing is read from disk, so a demo or a benchmark runs anywhere and gives the same
records for the same arguments on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "DEMO_REFERENCE_DATE",
    "DEMO_SEGMENTS",
    "load_demo_customers",
    "make_numeric_customers",
]

# Fixed so that `last_purchase_date` and `recency_days` agree on every run, whatever today is.
DEMO_REFERENCE_DATE = "2026-06-30"

# Index in this tuple == value in the returned `true_segment` array.
DEMO_SEGMENTS: tuple[str, ...] = ("champions", "loyal", "new", "at_risk", "hibernating")

# Shares of the population; unequal on purpose so that segment sizes carry information.
_SEGMENT_SHARES = np.array([0.12, 0.23, 0.15, 0.18, 0.32])

_CHANNELS = ("web", "store", "app", "phone")
_REGIONS = ("north", "south", "east", "west", "central")

# Per segment (rows in DEMO_SEGMENTS order). Values chosen to resemble an RFM analysis of a
# mid-sized retailer: champions buy often, recently and big; at-risk customers used to spend
# well but have not bought for half a year; hibernating customers bought a few cheap items
# long ago. The spreads are tight enough that the five segments stand out in several fields
# at once (silhouette-based k selection recovers them), loose enough that they overlap.
# recency_days ~ lognormal(median, sigma), clipped to [0, 364] so that every customer has at
# least one order in the last 12 months (frequency counts those orders).
_RECENCY_MEDIAN = np.array([7.0, 25.0, 14.0, 180.0, 290.0])
_RECENCY_SIGMA = np.array([0.5, 0.4, 0.5, 0.2, 0.1])
# frequency = 1 + Poisson(lambda)
_FREQUENCY_LAMBDA = np.array([20.0, 9.0, 0.5, 3.0, 0.3])
# underlying average order value ~ lognormal(median, sigma): right-skewed spend
_AOV_MEDIAN = np.array([140.0, 55.0, 45.0, 110.0, 28.0])
_AOV_SIGMA = np.array([0.3, 0.3, 0.35, 0.3, 0.35])
# tenure_months ~ lognormal(median, sigma), then at least the months since the last purchase
_TENURE_MEDIAN = np.array([45.0, 60.0, 2.5, 40.0, 30.0])
_TENURE_SIGMA = np.array([0.35, 0.3, 0.4, 0.35, 0.4])
_TENURE_MAX = 180
_CHANNEL_SHARES = np.array(
    [
        # web   store  app   phone
        [0.35, 0.15, 0.45, 0.05],  # champions: app-first
        [0.30, 0.45, 0.15, 0.10],  # loyal: store regulars
        [0.55, 0.10, 0.30, 0.05],  # new: acquired online
        [0.35, 0.35, 0.15, 0.15],  # at risk
        [0.30, 0.40, 0.05, 0.25],  # hibernating: store and phone
    ]
)
_REGION_SHARES = np.array([0.22, 0.20, 0.20, 0.18, 0.20])
_LOYALTY_RATE = np.array([0.85, 0.70, 0.15, 0.40, 0.10])

# Fields that receive missing values (None), each independently at this rate.
_MISSING_FIELDS = ("avg_order_value", "tenure_months", "channel")
_MISSING_RATE = 0.025


def _allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Split ``n`` into integer sizes proportional to ``shares`` (largest remainder).

    Exact and deterministic, so tests can state the segment sizes rather than sample them.
    """
    raw = n * shares / shares.sum()
    sizes = np.floor(raw).astype(np.int64)
    remainder = n - int(sizes.sum())
    # Ties broken by position (stable sort) to stay deterministic.
    order = np.argsort(-(raw - sizes), kind="stable")
    sizes[order[:remainder]] += 1
    return sizes


def _check_n(n: Any, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}.")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}.")
    return int(n)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one category index per row, row ``i`` using the distribution ``probs[i]``."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0])[:, None]
    idx = (u >= cumulative).sum(axis=1)
    # Guard against cumulative sums that round to slightly below 1.
    return np.minimum(idx, probs.shape[1] - 1)


def load_demo_customers(
    n: int = 10_000, random_state: int = 0, *, as_frame: bool = False
) -> tuple[Any, np.ndarray]:
    """Realistic synthetic customer records drawn from five known segments.

    The latent segments are, in the order of ``DEMO_SEGMENTS``: ``champions`` (12 %: recent,
    frequent, high spend), ``loyal`` (23 %: regular store buyers), ``new`` (15 %: short tenure,
    recent, few orders), ``at_risk`` (18 %: used to buy, not recently) and ``hibernating``
    (32 %: long ago, low spend). Sizes are allocated exactly (largest remainder), then the
    records are shuffled.

    Parameters
    ----------
    n : int, default=10_000
        Number of customers (at least 1).
    random_state : int, default=0
        Seed; the same ``n`` and ``random_state`` give identical output.
    as_frame : bool, default=False
        Return a pandas DataFrame (pandas is an optional dependency, imported only then)
        instead of a list of dicts.

    Returns
    -------
    records : list of dict or pandas.DataFrame
        One plain JSON-able dict per customer with the fields ``id`` (``"C000001"``...),
        ``recency_days`` (int, days since the last purchase), ``frequency`` (int, orders in the
        last 12 months), ``monetary`` (float, spend over those orders, in currency units,
        rounded to cents), ``avg_order_value`` (float, ``monetary / frequency``),
        ``tenure_months`` (int), ``channel`` (``"web"``, ``"store"``, ``"app"``, ``"phone"``),
        ``region`` (``"north"``, ``"south"``, ``"east"``, ``"west"``, ``"central"``),
        ``loyalty_member`` (bool), ``email`` (unique, high-cardinality) and
        ``last_purchase_date`` (``"YYYY-MM-DD"``, ``DEMO_REFERENCE_DATE`` minus
        ``recency_days``). About 2.5 % of ``avg_order_value``, ``tenure_months`` and
        ``channel`` are ``None``.
    true_segment : ndarray of shape (n,), dtype int64
        Index into ``DEMO_SEGMENTS`` of each record's latent segment.

    Examples
    --------
    >>> from segengine.datasets import load_demo_customers, DEMO_SEGMENTS
    >>> records, truth = load_demo_customers(n=100)
    >>> sorted(records[0])[:3]
    ['avg_order_value', 'channel', 'email']
    """
    n = _check_n(n)
    rng = np.random.default_rng(random_state)

    sizes = _allocate(n, _SEGMENT_SHARES)
    segment = np.repeat(np.arange(len(DEMO_SEGMENTS), dtype=np.int64), sizes)
    # Shuffle before drawing so that the i-th record is not tied to its segment block.
    segment = segment[rng.permutation(n)]

    normal = rng.standard_normal((n, 3))
    recency = _RECENCY_MEDIAN[segment] * np.exp(_RECENCY_SIGMA[segment] * normal[:, 0])
    recency = np.clip(np.rint(recency), 0, 364).astype(np.int64)

    frequency = 1 + rng.poisson(_FREQUENCY_LAMBDA[segment]).astype(np.int64)

    aov_true = _AOV_MEDIAN[segment] * np.exp(_AOV_SIGMA[segment] * normal[:, 1])
    monetary = np.round(aov_true * frequency, 2)
    # Cents must be at least one per order so that the average stays positive.
    monetary = np.maximum(monetary, 0.01 * frequency)
    avg_order_value = np.round(monetary / frequency, 2)

    tenure = _TENURE_MEDIAN[segment] * np.exp(_TENURE_SIGMA[segment] * normal[:, 2])
    # A customer cannot have bought before joining: tenure covers the last purchase.
    min_tenure = recency // 30 + 1
    tenure = np.clip(np.rint(tenure), 1, _TENURE_MAX).astype(np.int64)
    tenure = np.maximum(tenure, min_tenure)

    channel = _choice_rows(rng, _CHANNEL_SHARES[segment])
    region = _choice_rows(rng, np.broadcast_to(_REGION_SHARES, (n, len(_REGIONS))))
    loyalty = rng.random(n) < _LOYALTY_RATE[segment]

    missing = rng.random((len(_MISSING_FIELDS), n)) < _MISSING_RATE

    reference = np.datetime64(DEMO_REFERENCE_DATE, "D")
    dates = (reference - recency.astype("timedelta64[D]")).astype(str)

    # .tolist() converts to Python scalars once, far faster than per-element int()/float().
    recency_l = recency.tolist()
    frequency_l = frequency.tolist()
    monetary_l = monetary.tolist()
    aov_l = avg_order_value.tolist()
    tenure_l = tenure.tolist()
    channel_l = [_CHANNELS[c] for c in channel.tolist()]
    region_l = [_REGIONS[r] for r in region.tolist()]
    loyalty_l = loyalty.tolist()
    dates_l = dates.tolist()
    miss_aov, miss_tenure, miss_channel = (m.tolist() for m in missing)

    width = max(6, len(str(n)))
    records: list[dict[str, Any]] = []
    for i in range(n):
        ident = f"C{i + 1:0{width}d}"
        records.append(
            {
                "id": ident,
                "recency_days": recency_l[i],
                "frequency": frequency_l[i],
                "monetary": monetary_l[i],
                "avg_order_value": None if miss_aov[i] else aov_l[i],
                "tenure_months": None if miss_tenure[i] else tenure_l[i],
                "channel": None if miss_channel[i] else channel_l[i],
                "region": region_l[i],
                "loyalty_member": loyalty_l[i],
                "email": f"{ident.lower()}@example.com",
                "last_purchase_date": dates_l[i],
            }
        )

    if as_frame:
        import pandas as pd  # optional extra: only needed here

        return pd.DataFrame.from_records(records), segment
    return records, segment


def make_numeric_customers(
    n: int = 10_000,
    n_features: int = 10,
    n_segments: int = 4,
    random_state: int = 0,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Plain numeric records from known segments with realistic overlap (for benchmarks).

    Segments are Gaussian blobs of unequal sizes and spreads in a subspace of about
    two thirds of the features; the remaining features are pure noise, as uninformative
    columns are in real customer tables. Centres are at least 3.5 within-segment standard
    deviations apart, so the segments are recoverable but their tails overlap. Each feature
    then gets its own offset and unit (scale from 1 to 1000), so scaling matters.

    Parameters
    ----------
    n : int, default=10_000
        Number of records (at least 1).
    n_features : int, default=10
        Number of numeric fields ``f0`` .. ``f{n_features-1}`` (at least 1).
    n_segments : int, default=4
        Number of latent segments (at least 1).
    random_state : int, default=0
        Seed; the same arguments give identical output.

    Returns
    -------
    records : list of dict
        ``{"id": "N000001", "f0": float, ...}``, floats rounded to 4 decimals, in shuffled order.
    true_segment : ndarray of shape (n,), dtype int64
        The latent segment of each record (segment 0 is the largest).

    Examples
    --------
    >>> from segengine.datasets import make_numeric_customers
    >>> records, truth = make_numeric_customers(n=50, n_features=3, n_segments=2)
    >>> sorted(records[0])
    ['f0', 'f1', 'f2', 'id']
    """
    n = _check_n(n)
    n_features = _check_n(n_features, "n_features")
    n_segments = _check_n(n_segments, "n_segments")
    rng = np.random.default_rng(random_state)

    n_informative = max(1, int(round(n_features * 0.8)))
    # Rejection sampling keeps the centres apart; the bound on tries only matters in one
    # dimension with many segments, where the spacing then simply stays smaller.
    min_distance = 4.5
    centres = np.zeros((n_segments, n_features))
    spread = 2.0 + 0.5 * np.sqrt(n_segments)
    for s in range(n_segments):
        best, best_gap = None, -1.0
        for _ in range(200):
            candidate = rng.normal(0.0, spread, n_informative)
            gap = (
                np.min(np.linalg.norm(centres[:s, :n_informative] - candidate, axis=1))
                if s
                else np.inf
            )
            if gap > best_gap:
                best, best_gap = candidate, gap
            if gap >= min_distance:
                break
        centres[s, :n_informative] = best

    # Geometric shares: the largest segment is about three times the smallest for k=4.
    shares = 0.7 ** np.arange(n_segments)
    sizes = _allocate(n, shares)
    segment = np.repeat(np.arange(n_segments, dtype=np.int64), sizes)
    segment = segment[rng.permutation(n)]

    # Each segment has its own spread (0.7 to 1.3) and mild axis-aligned anisotropy.
    seg_scale = rng.uniform(0.7, 1.3, n_segments)
    axis_scale = rng.uniform(0.8, 1.25, (n_segments, n_features))
    z = rng.standard_normal((n, n_features))
    x = centres[segment] + z * (seg_scale[segment, None] * axis_scale[segment])

    units = 10.0 ** rng.uniform(0.0, 3.0, n_features)
    offsets = rng.uniform(-2.0, 10.0, n_features) * units
    x = np.round(offsets + x * units, 4)

    names = [f"f{j}" for j in range(n_features)]
    width = max(6, len(str(n)))
    keys = ("id", *names)
    records = [
        dict(zip(keys, (f"N{i + 1:0{width}d}", *row))) for i, row in enumerate(x.tolist())
    ]
    return records, segment
