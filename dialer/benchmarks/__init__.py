"""Benchmarks run by ``dialer bench``; each measures its baseline in the same run."""
