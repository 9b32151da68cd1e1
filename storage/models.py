"""Every model module, imported so that Base.metadata is complete (Alembic and tests use it)."""

from storage import audit, directory, inbox, locks, outbox  # noqa: F401
from storage import archive  # noqa: F401  (chat archive, issue 4)
from storage import customers  # noqa: F401  (customer pool, issue 3)
from storage import receivables  # noqa: F401  (receivables, issue 6)
from storage import departures  # noqa: F401  (departure handover, issue 5)

from storage.db import Base

metadata = Base.metadata
