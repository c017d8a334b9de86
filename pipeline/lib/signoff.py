"""Signed quarters: the lock a sign-off puts on a quarter, and the amendment that lifts it for one run.

A quarter whose report was signed (`python -m pipeline sign`) is not materialized again by accident: every
asset that writes checks, before it reads or writes anything, whether the quarter is signed, and fails with
who signed it, when, and how to amend unless the run carries the tag `amend_reason` (`python -m pipeline run
QUARTER --amend "REASON"`, or the tag set in the UI's launchpad). An amendment is a new version linked to the
signed one; it becomes the signed version only when it is signed in turn.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg

from pipeline.lib.lake import signoff_of
from pipeline.lib.messages import say
from pipeline.orchestration.partitions import partition_of

AMEND_TAG = "amend_reason"


def signed_words(signoff: dict) -> str:
    return say("signoff.words", version=signoff["version"], quarter=signoff["quarter"], signed_by=signoff["signed_by"],
               signed_at=signoff["signed_at"])


def lock_message(signoff: dict) -> str:
    return say("signoff.locked", quarter=signoff["quarter"], signed=signed_words(signoff), tag=AMEND_TAG)


@lru_cache(maxsize=64)
def _signoff_for_run(run_id: str, warehouse: str, quarter: str) -> dict | None:
    """Decided once per run: the steps of a run agree, even if someone signs while it runs."""
    return signoff_of(warehouse, quarter)


def amend_reason(run: dg.DagsterRun) -> str | None:
    return (run.tags.get(AMEND_TAG) or "").strip() or None


def refuse_if_signed(context: dg.AssetExecutionContext, warehouse: str) -> dict | None:
    """Fail the step before it touches anything when the quarter is signed and the run is no amendment.
    Returns the quarter's sign-off (None when unsigned)."""
    province, quarter = partition_of(context)
    signoff = _signoff_for_run(context.run.run_id, str(warehouse), quarter)
    if signoff is not None and amend_reason(context.run) is None:
        raise dg.Failure(description=lock_message(signoff), allow_retries=False)
    return signoff


def amendment(context: dg.AssetExecutionContext, warehouse: str) -> dict:
    """What the run's version amends: {"amendment_of": signed version or None, "amend_reason": …}."""
    signoff = refuse_if_signed(context, warehouse)
    return {"amendment_of": signoff["version"] if signoff else None,
            "amend_reason": amend_reason(context.run) if signoff else None}
