"""Unit tests of adapter.upstream."""
