"""Deep (two-layer) sparse coding: y = A2 A1 x learned layer by layer with the family's unrolled encoder (engine.deep.deep_sparse_coding)."""
