"""Unit tests: pure logic of the collection, no cluster."""

from tests.collection import ensure_importable

ensure_importable()
