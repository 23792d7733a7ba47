"""Unit tests of adapter.keys."""
