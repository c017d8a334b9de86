"""Dagster's wiring: the code location (`definitions.py`) and what it assembles: partitions, resources,
the executor, the schedule and sensor, the instance's storage and maintenance."""
