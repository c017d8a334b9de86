"""Checks made before a run is launched from the project's own commands (`make run`, `python -m pipeline run`
and `backfill`): a bad quarter, landing zone, warehouse or setting is refused in one line, before Dagster
starts. The assets make the same checks themselves when Dagster's CLI or UI launches them (as step
failures); this only says it sooner and more plainly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

from pipeline.lib.isolation import LimitsError, ReaderLimits
from pipeline.lib.lake import postgres_problem, postgres_url, signoff_of
from pipeline.lib.messages import say
from pipeline.lib.profile import load_profile, profile_path
from pipeline.lib.provinces import Place
from pipeline.lib.signoff import lock_message, signed_words
from pipeline.lib.versions import change_share
from pipeline.orchestration.partitions import all_raw_dirs, parse_quarter, province_today, wanted_partition_keys
from pipeline.orchestration.resources import exports_problem, warehouse_problem


class PreflightError(Exception):
    """A reason not to launch, for the user."""


def known_quarter(quarter: str) -> str:
    """The quarter, when it is a partition of the pipeline."""
    try:
        parse_quarter(quarter)
    except ValueError as exc:
        raise PreflightError(str(exc)) from None
    keys = wanted_partition_keys(province_today(), *all_raw_dirs())
    if quarter not in keys:
        raise PreflightError(say("preflight.not_runnable", quarter=quarter, first=keys[0], last=keys[-1]))
    return quarter


def exports_folder(quarter: str, raw_dir: Path) -> Path:
    problem = exports_problem(raw_dir, quarter)
    if problem:
        raise PreflightError(problem)
    return raw_dir / quarter


def writable_warehouse(path: Path) -> None:
    """The warehouse's folder can be created and written, and an existing file is a DuckDB database."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise PreflightError(say("preflight.warehouse_unwritable", folder=path.parent, path=path,
                                 reason=exc.strerror or exc)) from None
    if path.exists():
        if path.is_dir():
            raise PreflightError(say("preflight.warehouse_is_folder", path=path))
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.Error as exc:
            if "lock" not in str(exc).lower():  # held by a run or a notebook: the run waits for it
                raise PreflightError(say("preflight.warehouse_unusable", path=path, reason=warehouse_problem(exc))) from None


def settings(province: str | None = None) -> None:
    """Every setting read from the environment parses, and the province's profile."""
    try:
        ReaderLimits.from_env()
        change_share()
        load_profile(profile_path(province))
    except (LimitsError, ValueError) as exc:  # ProfileError is a ValueError
        raise PreflightError(str(exc)) from None
    limit = os.environ.get("DUCKDB_MEMORY_LIMIT")
    if limit:
        try:
            duckdb.connect(config={"memory_limit": limit}).close()
        except duckdb.Error:
            raise PreflightError(say("preflight.memory_limit", limit=limit)) from None


def check_run(quarters: list[str], where: Place) -> list[str]:
    """The province's quarters, each checked, with its warehouse and the settings; the first problem raises."""
    raw_dir = where.raw_dir
    keys = [known_quarter(q) for q in quarters]
    missing = []
    for key in keys:
        try:
            exports_folder(key, raw_dir)
        except PreflightError as exc:
            if len(keys) == 1 or not raw_dir.is_dir():
                raise
            missing.append(f"{key} ({exc})")
    if missing:
        raise PreflightError(say("preflight.no_exports_for", missing="; ".join(missing)))
    writable_warehouse(where.warehouse)
    settings(where.province)
    reachable_catalog()
    return keys


def reachable_catalog() -> None:
    """With the production profile, the PostgreSQL server answers with the URL's credentials."""
    url = postgres_url()
    if url is not None:
        problem = postgres_problem(url)
        if problem:
            raise PreflightError(problem)


def check_signed(quarter: str, warehouse: str, amend_reason: str | None) -> None:
    """A signed quarter runs only as an amendment; an amendment needs a signed quarter."""
    signoff = signoff_of(warehouse, quarter)
    if signoff and not amend_reason:
        raise PreflightError(lock_message(signoff))
    if amend_reason and not signoff:
        raise PreflightError(say("preflight.amend_unsigned", quarter=quarter))


def unsigned(quarters: list[str], warehouse: str) -> list[str]:
    """The quarters that are not signed; each signed one is named on standard output as left alone."""
    kept = []
    for quarter in quarters:
        signoff = signoff_of(warehouse, quarter)
        if signoff:
            print(say("run.left_as_signed", quarter=quarter, signed=signed_words(signoff)), flush=True)
        else:
            kept.append(quarter)
    return kept
