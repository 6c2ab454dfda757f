"""Evaluation corpora and scripts behind `make eval`."""
