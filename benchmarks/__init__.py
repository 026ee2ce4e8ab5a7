"""Benchmarks behind ``make bench``: each ``bench_*`` module exposes ``run() -> list[Figure]``."""
