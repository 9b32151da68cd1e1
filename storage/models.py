"""Every model module, imported so that Base.metadata is complete (Alembic and tests use it)."""

from storage import (  # noqa: F401
    archive,  # noqa: F401  (chat archive, issue 4)
    archive_state,  # noqa: F401  (archive pull health, issue 15)
    audit,
    customers,  # noqa: F401  (customer pool, issue 3)
    departure_exit,  # noqa: F401  (exit questionnaire answers, issue 17)
    departures,  # noqa: F401  (departure handover, issue 5)
    directory,
    groupchat_names,  # noqa: F401  (group chat names from groupchat/get, issue 20)
    inbox,
    job_runs,  # noqa: F401  (scheduled jobs' last outcome)
    kpi,  # noqa: F401  (KPI aggregates, issue 18)
    locks,
    outbox,
    receivables,  # noqa: F401  (receivables, issue 6)
    risk,  # noqa: F401  (跑单 early warning, issue 18)
    sessions,  # noqa: F401  (console sessions ended on the server, issue 16)
)
from storage.db import Base

metadata = Base.metadata
