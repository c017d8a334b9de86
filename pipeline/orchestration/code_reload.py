"""Reload this code location so that its (static) quarter partitions are recomputed.

Partition keys are computed when the code location loads. A `dagster dev` left running across the end of
a quarter, or receiving exports for a quarter that just began, would otherwise never learn the new key.
The new-export sensor notices the difference and asks the webserver to reload the location through
Dagster's GraphQL client (the same as Deployment → Reload in the UI). The webserver's address comes from
`PIPELINE_WEBSERVER` (host:port; `make dev` sets it). Without it the sensor only says what to do.

The request is sent from a background thread: the reload replaces the very process the sensor runs in,
so the sensor must return first.
"""

from __future__ import annotations

import logging
import os
import threading

from pipeline.lib.messages import say

WEBSERVER_ENV = "PIPELINE_WEBSERVER"
LOCATION_ENV = "PIPELINE_CODE_LOCATION"
DEFAULT_LOCATION = "pipeline.definitions"  # the name workspace.yaml's python_module gives the location

log = logging.getLogger(__name__)


def _reload(host: str, port: int, location: str) -> None:
    from dagster_graphql import DagsterGraphQLClient

    try:
        info = DagsterGraphQLClient(host, port_number=port, timeout=120).reload_repository_location(location)
        log.info(say("reload.done", location=location, status=info.status, message=info.message or ""))
    except Exception as error:  # the reply may be cut by the reload itself; the next tick checks again
        log.warning(say("reload.failed", location=location, host=host, port=port, error=error))


def request_code_reload(reason: str) -> str:
    """Start a reload of this code location if the webserver is known; return what the tick should say."""
    address = os.environ.get(WEBSERVER_ENV, "").strip()
    location = os.environ.get(LOCATION_ENV, DEFAULT_LOCATION)
    if not address:
        return say("reload.by_hand", reason=reason, variable=WEBSERVER_ENV)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return say("reload.bad_address", reason=reason, variable=WEBSERVER_ENV, address=address)
    threading.Thread(target=_reload, args=(host, int(port), location), daemon=True,
                     name="pipeline-code-reload").start()
    return say("reload.requested", reason=reason, address=address, location=location)
