"""Clustering engines: numba KMeans and Gaussian mixtures (kernels apart from estimators)."""
