"""Unit tests of adapter.metering."""
