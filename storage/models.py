"""Every model module, imported so that Base.metadata is complete (Alembic and tests use it)."""

from storage import (  # noqa: F401
    archive,  # noqa: F401  (chat archive, issue 4)
    archive_state,  # noqa: F401  (archive pull health, issue 15)
    audit,
    customers,  # noqa: F401  (customer pool, issue 3)
    departures,  # noqa: F401  (departure handover, issue 5)
    directory,
    inbox,
    job_runs,  # noqa: F401  (scheduled jobs' last outcome)
    locks,
    outbox,
    receivables,  # noqa: F401  (receivables, issue 6)
    sessions,  # noqa: F401  (console sessions ended on the server, issue 16)
)
from storage.db import Base

metadata = Base.metadata
