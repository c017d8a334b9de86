"""The code location, under the name the contract command and workspace.yaml use
(`dagster asset materialize -m pipeline.definitions …`); it is assembled in `pipeline/orchestration/`."""

from pipeline.orchestration.definitions import defs

__all__ = ["defs"]
