"""Runnable local proofs for docs/scaling.md: `python -m tests.scaling.<name>`. Not collected by pytest.

Each module checks its own imports first and, when something is missing, prints the exact `pip install` line.
"""
