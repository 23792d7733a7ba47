"""Unit tests of the example backend mapping files."""
