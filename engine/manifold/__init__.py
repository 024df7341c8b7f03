"""Manifold learning and clustering by local dictionaries: K-deep simplex (engine.manifold.k_deep_simplex)."""
