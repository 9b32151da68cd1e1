"""[email]: the SMTP server dunning letters (追款函) go out through, validated at start-up.

    [email]
    smtp_host = "smtp.example.com"  # empty: no email (letters stay drafts)
    smtp_port = 587                 # default: 465 for "ssl", 587 for "starttls", 25 for "none"
    security = "starttls"           # starttls | ssl | none
    username = "finance@example.com"
    password = ""                   # keep it in WECOM_HR_EMAIL_PASSWORD
    from_addr = "finance@example.com"
    from_name = ""                  # default: [receivables] company_name
    timeout_seconds = 30.0

Addresses are checked here too (``check_address``): the customer's comes from a CSV file, and an
address is written into a mail header, so one with CR/LF or a second recipient must never pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address

from wecom_hr.config import ConfigError, Settings, get
from wecom_hr.receivables.settings import ledger_from

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
MAX_ADDRESS = 254  # RFC 5321's limit for a forward path
KEYS = {"smtp_host", "smtp_port", "security", "username", "password", "from_addr", "from_name", "timeout_seconds"}
FORBIDDEN = set(" ,;:<>()[]\\\"")


@dataclass(frozen=True)
class EmailSettings:
    smtp_host: str = ""
    smtp_port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    from_addr: str = ""
    from_name: str = ""
    timeout_seconds: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)


def check_address(value: str) -> str:
    """The address itself, or ValueError saying what is wrong with it (one mailbox, no display name)."""
    if len(value) > MAX_ADDRESS:
        raise ValueError(f"longer than {MAX_ADDRESS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("contains a line break or control character")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or "@" in local:
        raise ValueError(f"{value[:60]!r} is not an email address")
    if FORBIDDEN & set(value) or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise ValueError(f"{value[:60]!r} is not a single plain email address")
    try:
        Address(addr_spec=value)
    except (HeaderParseError, ValueError, IndexError):
        raise ValueError(f"{value[:60]!r} is not an email address") from None
    return value


def _address(value: str, key: str) -> str:
    try:
        return check_address(value)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def from_settings(settings: Settings) -> EmailSettings:
    """Hooked into config.FEATURE_SETTINGS: a bad key stops start-up with the key's name."""
    t = settings.section("email")
    unknown = set(t) - KEYS
    if unknown:
        raise ConfigError(f"email.{min(unknown)}", "is not a known key")
    host = get(t, "email", "smtp_host", str, "").strip()
    security = get(t, "email", "security", str, "starttls")
    if security not in SECURITY:
        raise ConfigError("email.security", f"must be one of {', '.join(SECURITY)}, got {security!r}")
    port = get(t, "email", "smtp_port", int, DEFAULT_PORTS[security])
    if not 1 <= port <= 65535:
        raise ConfigError("email.smtp_port", "must be 1..65535")
    timeout = get(t, "email", "timeout_seconds", float, 30.0)
    if not 0 < timeout <= 600:
        raise ConfigError("email.timeout_seconds", "must be more than 0 and at most 600")
    username, password = get(t, "email", "username", str, ""), get(t, "email", "password", str, "")
    if password and not username:
        raise ConfigError("email.username", "is missing (a password is set)")
    if username and security == "none":
        raise ConfigError("email.security", "\"none\" would send the password in clear text: use starttls or ssl")
    from_addr = get(t, "email", "from_addr", str, "").strip()
    if host and not from_addr:
        raise ConfigError("email.from_addr", "is missing (smtp_host is set)")
    if from_addr:
        _address(from_addr, "email.from_addr")
    from_name = get(t, "email", "from_name", str, "")
    if any(ord(c) < 32 for c in from_name):
        raise ConfigError("email.from_name", "contains a line break or control character")
    if not host and ledger_from(settings).auto_send_letters:
        raise ConfigError("email.smtp_host", "is missing ([receivables] auto_send_letters is on)")
    return EmailSettings(smtp_host=host, smtp_port=port, security=security, username=username, password=password,
                         from_addr=from_addr, from_name=from_name, timeout_seconds=timeout)
