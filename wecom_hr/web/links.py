"""Console links for people to start from: one sign-in link per role, for the demo and the docs."""

from __future__ import annotations

from urllib.parse import quote

from wecom_hr.config import Settings
from wecom_hr.simulator.seed import SeedResult
from wecom_hr.web import texts

# The page each role usually starts on.
START = {"compliance": "/console/archive", "admin": "/console/archive/audit", "hr": "/console/departures",
         "finance": "/console/receivables", "manager": "/console/customers", "salesperson": "/console/customers"}


def login_link(base_url: str, next_path: str) -> str:
    return f"{base_url}/login?next={quote(next_path, safe='/')}"


def console_logins(settings: Settings, seed: SeedResult) -> list[tuple[str, str, str]]:
    """(role label, userid, sign-in link) for the first member of each role in a seeded company."""
    people: list[tuple[str, str]] = [(role, userid) for role in ("compliance", "admin", "hr", "finance")
                                     for userid in getattr(settings.roles, role)[:1]]
    if seed.managers:
        people.append(("manager", next(iter(seed.managers.values()))))
    if seed.all_salespeople:
        people.append(("salesperson", seed.all_salespeople[0]))
    return [(texts.ROLE_NAMES[role], userid, login_link(settings.public_url, START[role])) for role, userid in people]
