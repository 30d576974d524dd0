"""Every tunable of segengine in one place.

Kernels import their numba flags from here so that a single edit changes the whole
library (for example to measure the effect of fastmath, or to debug with bounds checks).
"""

from __future__ import annotations

# LLVM fast-math flags for the numba kernels. `nnan` and `ninf` are deliberately absent so
# that NaN/inf checks inside kernels keep working. `reassoc` is absent too: it lets LLVM
# vectorise reductions, but how it regroups a sum depends on inlining and vectorisation
# decisions, which differed between a fresh compile and a kernel loaded from numba's on-disk
# cache (last-bit differences in reported figures; issue 16, item 19). Results must not depend
# on the compilation history, so reductions run in source order.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn"})

# Options of every numba kernel, in one place. Every kernel module (engines/_kmeans_kernels,
# _kmeans_sparse_kernels, _gmm_kernels, _membership_kernels, metrics/_silhouette_kernels,
# _silhouette_metric_kernels) declares them the same way: `_NJIT = config.NJIT_OPTIONS` (or a
# stricter set below), then `@numba.njit(**_NJIT)` for a serial kernel and
# `@numba.njit(parallel=True, **_NJIT)` for its block-parallel twin. Always cache=True (a
# warm process loads machine code instead of compiling) and nogil=True (server threads run
# reports side by side). numba wants a mutable set for `fastmath`, hence set(...). Note:
# numba's cache key holds the kernel's bytecode and signature, not these flags, so after
# changing them clear the `__pycache__` *.nbi/*.nbc files (or touch the kernel modules).
NJIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": set(FASTMATH)}
# Strict IEEE apart from signed zeros, for kernels whose sums feed comparisons between runs or
# must reproduce numpy's arithmetic bit for bit (no FMA contraction, no approximate functions).
NJIT_STRICT_OPTIONS = {"cache": True, "nogil": True, "fastmath": {"nsz"}}
# No fast-math flag at all, for a reduction that must keep index order and signed zeros
# wherever LLVM inlines it (gmm kernels' _ordered_sum).
NJIT_EXACT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}

# Rows per block in the parallel kernels. Reductions are computed per block and merged in
# block order, so results do not depend on the number of threads (unlike a plain prange
# reduction, whose partition follows the thread count).
BLOCK_ROWS = 512

# Below this many rows a parallel kernel costs more in thread wake-ups than it saves.
PARALLEL_MIN_ROWS = 4096

# Limits of the request contract (SPEC section 2).
DEFAULT_MAX_RECORDS = 250_000
MIN_RECORDS = 3
DEFAULT_MAX_CATEGORIES = 20

# Cost model (README "Cost model"): bounds that keep any body within the limits above to a few
# seconds and well under 1.5 GB, whatever its shape and options.
# Distinct field names across the records, and records x distinct fields (the typed table is
# 8 bytes a cell). A dense 20 MB body stays far below both (each cell costs >= 5 bytes of JSON).
MAX_FIELDS = 1_000
MAX_TABLE_CELLS = 25_000_000
# Columns of the model matrix (numeric fields + one per categorical level), and records x
# columns: distances, silhouettes and mixtures cost records x columns per segment. Measured
# (benchmarks/cost_model.py): 20,000 records x 127 one-hot columns take 2.3 s of CPU, most of
# it in the KMeans search; 250,000 x 50 columns (the cell cap) about 4 s.
MAX_MODEL_COLUMNS = 128
MAX_MODEL_CELLS = 12_500_000

# Silhouette under silhouette="auto": exact while n is at most this many records and the
# candidate labelings form few cells (exact multi pass, 9 labelings, 2 cores: ~4 ms at 2k,
# ~12 ms at 5k, ~45 ms at 10k, ~170 ms at 20k; benchmarks/bench_silhouette.py), sampled above.
SILHOUETTE_EXACT_MAX_N = 5_000
SILHOUETTE_EXACT_MAX_CELLS = 512
# Sampled silhouettes: the k whose score is within SILHOUETTE_CONTENDER_Z paired standard errors
# of the best are then scored exactly (up to SILHOUETTE_RESOLVE_MAX_N records), so that the
# sample -- hence the seed -- cannot decide between two close k (issue #12).
SILHOUETTE_CONTENDER_Z = 3.0
# Silhouettes this close are a tie (the smaller k wins), exact or not.
SILHOUETTE_TIE = 0.002
# Mean silhouettes of the chosen and another k closer than this (or than their summed standard
# errors, when larger) are reported as a near-tie (KSelection.near_ties, warn_near_tie), and a
# sampled k this close to the best is always re-scored exactly: a gap this small is within what
# a different seed or sample moves, so the report says the choice was close instead of hiding it.
NEAR_TIE = 0.003
SILHOUETTE_RESOLVE_MAX_N = 20_000
# silhouette="exact" compares every pair of records: the k search then runs on all records, and
# requests above SILHOUETTE_EXACT_LIMIT records are refused (422) rather than left running; the
# exact pass over 9 labelings at that size took about SILHOUETTE_EXACT_LIMIT_SECONDS on 2 cores
# (benchmarks/bench_silhouette.py --exact-limit).
SILHOUETTE_EXACT_LIMIT = 50_000
SILHOUETTE_EXACT_LIMIT_SECONDS = 2
# Records scored (each against all records) when sampled: one sample of 1,000 serves every k
# and picked the exact k in every trial (4 blob sets x 20 seeds; SPEC section 6), ~7 ms at 10k.
SILHOUETTE_SAMPLE_SIZE = 1_000
# The final labels' sampled silhouette is folded from the k search's per-cell distance sums of
# the same rows while at most this fraction of records carry another label than most of their
# cell (those are the only distances computed again; a quarter of them still costs a quarter
# of scoring directly).
SILHOUETTE_REUSE_MAX_MOVED = 0.25

# Preprocessing summarises, and profiling profiles, the numeric fields two at a time (two
# threads; numpy's sorts and reductions release the GIL) from this many values (records x
# numeric fields): below it a field takes well under a millisecond.
FIELD_THREADS_MIN_VALUES = 500_000

# Skewness above which a non-negative numeric field is log1p-transformed (scaling="auto").
SKEW_THRESHOLD = 2.0

# Silhouette (segengine.metrics.silhouette): largest number of cells (distinct tuples of labels
# across the candidate labelings) for the per-cell scheme: max(SILHOUETTE_MAX_CELLS, fraction
# x n); above it, per-labeling accumulation (slower: one addition per labeling and distance).
SILHOUETTE_MAX_CELLS = 512
SILHOUETTE_MAX_CELLS_FRACTION = 0.25
# Below this many distances the silhouette kernels run on one thread (about 45 ms of work;
# below it, waking threads costs more than it saves, much more on a busy machine). At 8M the
# 10k report's sampled silhouette (1,000 x 10,000) ran parallel and the whole report was 8-20%
# slower than with the serial kernel (2 shared cores, 2026-12-02, alternating runs), and its
# parfor compile was a quarter of a first run. 25M keeps the k search (at most a 20,000-record
# subsample) serial; the final labels' silhouettes above 25,000 records still run parallel.
SILHOUETTE_PARALLEL_MIN_PAIRS = 25_000_000
# Rows x points from which the serial silhouette kernels run on two Python threads by halves of
# the rows (below the parallel kernels' size): 1,000 x 10,000 took 16 ms on one thread, 10-12 on two.
SILHOUETTE_THREADS_MIN_PAIRS = 2_000_000

# Algorithm choice under algorithm="auto": the Gaussian mixture must beat the equal-variance
# spherical mixture implied by KMeans by this many nats of BIC per record (BIC / 2n scale).
GMM_BIC_MARGIN = 0.05
# ...and it is only tried when there are at least this many records per mixture parameter.
GMM_MIN_RECORDS_PER_PARAMETER = 10
# Honest mixture choice (segengine.mixture_checks): a field is "lumpy" when one value holds at
# least POINT_MASS_SHARE of the records or it has at most DISCRETE_MAX_LEVELS distinct values
# (counted on a seeded sample of LUMPY_SAMPLE_SIZE rows); a mixture component whose standard
# deviation along a lumpy field is below half its level spacing, or whose variance along any
# field is below GMM_COLLAPSE_REG_FACTOR x reg_covar, has collapsed and is never chosen by "auto".
POINT_MASS_SHARE = 0.02
DISCRETE_MAX_LEVELS = 20
LUMPY_SAMPLE_SIZE = 4096
GMM_COLLAPSE_REG_FACTOR = 10.0
# Largest cells x points accumulator (bytes) for the exact silhouette scheme that uses every
# pair of points once (half the work); larger problems visit each pair twice in O(rows x cells).
SILHOUETTE_SYMMETRIC_MAX_BYTES = 64 * 2**20
# Super-blocks of that scheme: 4 give 8 equal units of work with their own buffers (about
# 5 x cells x n doubles in all), one parallel region. Fixed, never the thread count, so
# results do not depend on it.
SILHOUETTE_SYMMETRIC_BLOCKS = 4
# Points per chunk of the silhouette distance kernels: a chunk of the transposed data
# (SILHOUETTE_CHUNK x features doubles) stays in L1/L2 while every row of a block is compared
# with it.
SILHOUETTE_CHUNK = 256

# Extra KMeans restarts for a k whose inertia breaks the convexity of the inertia curve
# (a poor local optimum; see selection._repair_nonconvex).
KMEANS_REPAIR_RESTARTS = 2
# A k is refitted when its inertia step is below this fraction of the next step (demo data,
# k = 5 with a poor optimum: 0.38; ordinary wiggles on good fits: 0.75-0.9).
KMEANS_REPAIR_RATIO = 0.6

# Restarts of every k in the k search (and of a fixed n_clusters) under n_init="auto": this many
# k-means++ restarts on a seeded sample of this many records, the best refined on all records
# (selection._screen_restarts; issue #12: one restart let the chosen k change with the seed).
KMEANS_SCREEN_RESTARTS = 10
KMEANS_SCREEN_SAMPLE = 1_000
# Whether the screening comes first (selection._screen_first: the best screened centres of every
# k get KMEANS_PROVISIONAL_ITER Lloyd passes on all records, and only the k that can win are
# converged, against a second opinion from a k-means++ fit on all records, since the sample can
# miss a small segment's basin) or complements a first fit of every k on all records (the
# slower way of issue #12). benchmarks/k_stability.py, 40 blob sets x seeds 0..9: 39 of 40 with
# one k and 39 of 40 within 0.5 % of scikit-learn's n_init=10 either way (worst +0.71 %, the
# same set); the screening alone, without the second opinion, gave 38 of 40.
KMEANS_SCREEN_REPLACES_FIRST_FIT = True
# With the screening first: Lloyd passes on all records from each k's best screened centres
# before the k are scored; the k whose sampled score is within the contender rule plus
# KMEANS_FINISH_MARGIN of the best are then run to convergence and scored again.
KMEANS_PROVISIONAL_ITER = 5
KMEANS_FINISH_MARGIN = 0.02
# Inputs of at most KMEANS_SCREEN_SAMPLE records get this many restarts on all records instead.
KMEANS_SMALL_RESTARTS = 4

# Above this many records the k search (KMeans with restarts and repairs, silhouettes) runs on
# a seeded subsample of this size; the chosen k is then refined on all records with at most
# REFINE_MAX_ITER Lloyd passes from the subsample centres.
SEARCH_MAX_N = 20_000
REFINE_MAX_ITER = 100
# Silhouettes of the final labels above this many records: the sampled records are scored
# against a seeded reference subsample of this size instead of all records.
SILHOUETTE_REFERENCE_MAX_N = 50_000

# Gaussian mixture (segengine.engines.gmm): an E/M pass runs on several threads only above
# this much work, counted as rows x components x (per-row cost: d(d+1)/2 for full/tied, d for
# diag/spherical, + 20 for the log-sum-exp). 10M units is about 3 ms on one thread; below
# it a parallel region saves under 1.5 ms on an idle 2-core machine and stalls for 4-12 ms
# (scheduler ticks) whenever the cores are shared with another process.
GMM_PARALLEL_MIN_WORK = 10_000_000
# Rows per transposed tile inside a block of the mixture E-step kernel: small enough that a
# tile of every component's differences stays in L1, long enough that the innermost loop over
# the tile's rows vectorises. Changes speed only, never a value (each row is computed alone).
GMM_TILE_ROWS = 64

# -- Bounded work (segengine.budget; README "Cost model: k, algorithm and time budget") --------
# Total time budget of one report when the caller sets no time_budget_ms (the server-side cap),
# and the largest budget a caller may ask for. Stages whose estimated cost no longer fits degrade
# (sampled silhouettes, fewer passes, no mixture) and say so in metadata.warnings.
DEFAULT_TIME_BUDGET_MS = 10_000
MAX_TIME_BUDGET_MS = 60_000
# Throughputs the stages plan with, conservative for the project's 2-core machine under load
# (benchmarks/cost_model_fit.py): KMeans rows x columns x centres per ms of a Lloyd pass; mixture
# rows x components x (per-row covariance cost + 20) per ms of an EM iteration; exact silhouette
# rows^2 x (columns + 8 x labelings) per ms.
COST_KMEANS_UNITS_PER_MS = 200_000
COST_GMM_UNITS_PER_MS = 500_000
COST_SILHOUETTE_UNITS_PER_MS = 10_000_000
# Bounds on k (segengine.budget.k_cap / search_k_cap); never below K_CAP_FLOOR (the default
# k_max), so ordinary requests never meet them. One KMeans pass on all records:
# k x rows x columns <= K_MAX_PASS_WORK (~1 s); per-segment profiles: k x fields <=
# K_MAX_PROFILE_CELLS; the search: rows x columns x restarts x sum(k) <= SEARCH_MAX_WORK and at
# most SEARCH_MAX_CANDIDATES values of k.
K_CAP_FLOOR = 10
K_MAX_PASS_WORK = 200_000_000
K_MAX_PROFILE_CELLS = 4_000
# ...and records x k <= K_MAX_MEMBERSHIP_CELLS: the (records, k) distance and membership
# matrices of the final model (250,000 records x 266 segments peaked at 2.4 GB).
K_MAX_MEMBERSHIP_CELLS = 10_000_000
SEARCH_MAX_WORK = 25_000_000
SEARCH_MAX_CANDIDATES = 100

# Segment stability (segengine.stability, Hennig's clusterboot): bootstrap resamples of a seeded
# subsample of STABILITY_SAMPLE_SIZE records, each refitted with STABILITY_RESTARTS KMeans
# restarts (and at most STABILITY_GMM_MAX_ITER EM iterations for a mixture).
STABILITY_RESAMPLES = 10
STABILITY_SAMPLE_SIZE = 1_000
STABILITY_RESTARTS = 2
STABILITY_GMM_MAX_ITER = 20
# Resamples run two at a time from this many sampled records x features.
STABILITY_THREAD_MIN_WORK = 20_000

# -- KMeans engine (segengine.engines.kmeans) --------------------------------------------------
# algorithm="auto" runs Hamerly's bounds only from this many clusters and this much work per
# pass (rows x features x clusters). Measured on 2 shared cores against the gemm-based Lloyd
# pass: 100k x 20, k=30: Hamerly 1.8x (blobs) to 3.3x (uniform) faster; 20k x 30, k=20:
# 1.0-1.1x; but k <= 12 or small n: 0.6-1.0x (uniform data keeps the bounds loose, so most
# points are rescanned anyway and the bound upkeep is pure overhead).
KMEANS_HAMERLY_MIN_K = 16
KMEANS_HAMERLY_MIN_WORK = 10_000_000
# Rows x features x clusters of one pass below which the serial kernels are used. On the shared
# 2-core machine the threads stalled behind other processes: 200k x 20, k=8 ran 2x slower in
# parallel than serially under load (1.8x faster on idle cores), so threads are kept for passes
# long enough to amortise a descheduled worker.
KMEANS_PARALLEL_MIN_WORK = 50_000_000
# kmeans_fit_many runs the fits of different k in worker threads from this many rows x features
# (below, thread start-up outweighs the fits).
KMEANS_FIT_MANY_THREAD_MIN_WORK = 20_000
# Sparse (CSR) KMeans passes run threaded from this many stored entries x clusters (and
# PARALLEL_MIN_ROWS rows): the sparse pass does about one multiply-add per stored entry and
# centre, so the same ~10M units as a dense pass of a few ms amortise the thread wake-ups.
KMEANS_SPARSE_PARALLEL_MIN_WORK = 10_000_000
