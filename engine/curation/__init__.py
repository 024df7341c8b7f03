"""Manual curation: the action-log model, its journal, features, similarity, spike trains and
quality metrics."""
