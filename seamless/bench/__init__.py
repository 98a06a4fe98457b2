"""Benchmarks: `seamless bench ...`; each prints figures beside a floor measured in the same run."""
