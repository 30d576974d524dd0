"""Cluster-quality metrics: exact, multi-labeling and sampled silhouette."""
