"""Prefect flows wiring the pipeline steps, and the `peergroups` command line."""
