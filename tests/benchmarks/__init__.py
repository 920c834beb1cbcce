"""Tests of the identity benchmark harness (benchmarks/identity)."""
