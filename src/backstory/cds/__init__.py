"""CDS Hooks 2.0: discovery, patient-view and order-select cards from Backstory reports.

The service logic here is pure (request in, response out); the web app mounts it and
records feedback in the audit log.
"""

from backstory.cds.service import (
    NOT_FETCHED,
    CdsError,
    CdsKnowledge,
    CdsResponse,
    FhirSearch,
    discovery,
    fetch_plan,
    handle_hook,
    load_cds_knowledge,
    parse_feedback,
    with_prefetch,
)

__all__ = [
    "NOT_FETCHED",
    "CdsError",
    "CdsKnowledge",
    "CdsResponse",
    "FhirSearch",
    "discovery",
    "fetch_plan",
    "handle_hook",
    "load_cds_knowledge",
    "parse_feedback",
    "with_prefetch",
]
