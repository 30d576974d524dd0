"""Clustering engines in three layers, imported one way.

Numba kernels (``_*_kernels``) -> functional core (`kmeans`, `gmm`, `memberships`) -> scikit-learn
estimators (`kmeans_estimator`, `gmm_estimator`).
"""
