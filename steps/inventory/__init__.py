"""Inventory step: each group's objects listed, fingerprinted and written as a content-addressed manifest."""
