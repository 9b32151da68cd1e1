"""Settings: TOML file plus WECOM_HR_<SECTION>_<KEY> environment overrides, validated once.

The keys in [wecom], [database], [redis], [[api.tokens]] and [roles] are a public contract.
A wrong or missing key raises ConfigError naming that key; the CLI prints it as one line.
Feature sections ([archive], [reminders], ...) are kept in ``raw`` and parsed by their owners
through :func:`section`, so each feature validates its own keys with the same error shape.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from wecom_hr.crypto import decode_aes_key

T = TypeVar("T")
ENV_PREFIX = "WECOM_HR_"
CONFIG_ENV = "WECOM_HR_CONFIG"
# Sections whose scalar keys may be overridden from the environment (secrets live here).
OVERRIDABLE = ("wecom", "database", "redis", "server", "worker", "archive", "web", "callback", "email")


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error: {key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class WeComSettings:
    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    contact_secret: str = ""
    archive_secret: str = ""
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin"
    timeout_seconds: float = 10.0

    def __repr__(self) -> str:  # secrets never reach logs through repr()
        return f"WeComSettings(corp_id={self.corp_id!r}, agent_id={self.agent_id}, api_base_url={self.api_base_url!r})"

    @property
    def effective_contact_secret(self) -> str:
        return self.contact_secret or self.secret


@dataclass(frozen=True)
class WorkerSettings:
    embedded: bool = True          # drain the inbox inside `serve` (one process, or SQLite)
    scheduler: bool = True         # run scheduled jobs inside `serve` (one worker leads, by lease)
    poll_seconds: float = 1.0
    max_attempts: int = 8
    backoff_seconds: float = 2.0   # doubled each attempt, capped at backoff_max_seconds
    backoff_max_seconds: float = 600.0
    lease_seconds: float = 120.0   # a claimed event whose worker died is reclaimed after this


@dataclass(frozen=True)
class CallbackSettings:
    max_body_bytes: int = 64 * 1024
    # A callback stamped further than this from our clock is refused (403); WeCom retries within
    # minutes. 0 accepts any timestamp, which lets a captured callback be replayed for ever.
    replay_window_seconds: int = 3600


@dataclass(frozen=True)
class ApiToken:
    token: str
    userid: str

    def __repr__(self) -> str:
        return f"ApiToken(userid={self.userid!r})"


@dataclass(frozen=True)
class Roles:
    compliance: tuple[str, ...] = ()
    hr: tuple[str, ...] = ()
    finance: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()

    def of(self, userid: str) -> frozenset[str]:
        return frozenset(name for name in ("compliance", "hr", "finance", "admin") if userid in getattr(self, name))


@dataclass(frozen=True)
class Settings:
    wecom: WeComSettings
    database_url: str = "sqlite:///wecom_hr.db"
    redis_url: str = ""
    redis_prefix: str = "wecom-hr:"
    public_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"
    log_json: bool = False
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    callback: CallbackSettings = field(default_factory=CallbackSettings)
    api_tokens: tuple[ApiToken, ...] = ()
    roles: Roles = field(default_factory=Roles)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def section(self, name: str) -> Mapping[str, Any]:
        return section(self.raw, name)


def section(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(name, "must be a table")
    return value


def _get(table: Mapping[str, Any], path: str, key: str, kind: type, default: Any = ..., required: bool = False) -> Any:
    full = f"{path}.{key}"
    if key not in table or table[key] == "" and required:
        if required or default is ...:
            raise ConfigError(full, "is missing")
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if kind is float and isinstance(value, str):  # from the environment
        with contextlib.suppress(ValueError):
            value = float(value)
    if kind is bool and isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
        value = value.lower() in ("1", "true", "yes")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(full, f"must be {kind.__name__}, got {type(value).__name__}")
    return value


def get(table: Mapping[str, Any], path: str, key: str, kind: type, default: Any = ...) -> Any:
    """Typed lookup for feature sections: ``get(sec, "archive", "sdk_path", str, "")``."""
    return _get(table, path, key, kind, default)


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        rest = name[len(ENV_PREFIX):].lower()
        for sec in OVERRIDABLE:
            if rest.startswith(sec + "_"):
                raw.setdefault(sec, {})[rest[len(sec) + 1:]] = value
                break


def _wecom(raw: Mapping[str, Any]) -> WeComSettings:
    t = section(raw, "wecom")
    key = _get(t, "wecom", "encoding_aes_key", str, required=True)
    try:
        decode_aes_key(key)
    except ValueError as exc:
        raise ConfigError("wecom.encoding_aes_key", str(exc)) from None
    base = _get(t, "wecom", "api_base_url", str, "https://qyapi.weixin.qq.com/cgi-bin").rstrip("/")
    if urlparse(base).scheme not in ("http", "https"):
        raise ConfigError("wecom.api_base_url", "must be an http(s) URL")
    return WeComSettings(
        corp_id=_get(t, "wecom", "corp_id", str, required=True),
        agent_id=_get(t, "wecom", "agent_id", int, required=True),
        secret=_get(t, "wecom", "secret", str, required=True),
        token=_get(t, "wecom", "token", str, required=True),
        encoding_aes_key=key,
        contact_secret=_get(t, "wecom", "contact_secret", str, ""),
        archive_secret=_get(t, "wecom", "archive_secret", str, ""),
        api_base_url=base,
        timeout_seconds=_get(t, "wecom", "timeout_seconds", float, 10.0),
    )


def dataclass_from(cls: type[T], table: Mapping[str, Any], path: str) -> T:
    """A settings dataclass from a TOML table: each field typed like its default; unknown keys refused."""
    defaults = cls()
    names = [f.name for f in dataclasses.fields(defaults)]  # type: ignore[arg-type]
    unknown = set(table) - set(names)
    if unknown:
        raise ConfigError(f"{path}.{sorted(unknown)[0]}", "is not a known key")
    return cls(**{f: _get(table, path, f, type(getattr(defaults, f)), getattr(defaults, f)) for f in names})


MIN_TOKEN_CHARS = 24
PLACEHOLDER_TOKENS = frozenset({"replace-with-a-long-random-string"})  # config.example.toml's


def _tokens(raw: Mapping[str, Any]) -> tuple[ApiToken, ...]:
    items = section(raw, "api").get("tokens", [])
    if not isinstance(items, list):
        raise ConfigError("api.tokens", "must be an array of tables")
    tokens = []
    for i, item in enumerate(items):
        path = f"api.tokens[{i}]"
        tok = _get(item, path, "token", str, required=True)
        if tok.strip() in PLACEHOLDER_TOKENS or tok.startswith("replace-with"):
            raise ConfigError(f"{path}.token", "is the example's placeholder: generate one, e.g. "
                              "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
        if len(tok) < MIN_TOKEN_CHARS:
            raise ConfigError(f"{path}.token", f"must be at least {MIN_TOKEN_CHARS} characters (it acts as a member)")
        tokens.append(ApiToken(tok, _get(item, path, "userid", str, required=True)))
    return tuple(tokens)


def _roles(raw: Mapping[str, Any]) -> Roles:
    t = section(raw, "roles")
    out = {}
    for name in ("compliance", "hr", "finance", "admin"):
        value = t.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"roles.{name}", "must be a list of WeCom userids")
        out[name] = tuple(value)
    return Roles(**out)


def settings_from_mapping(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    data: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in raw.items()}
    _apply_env(data, os.environ if environ is None else environ)
    db = section(data, "database")
    rd = section(data, "redis")
    srv = section(data, "server")
    settings = Settings(
        wecom=_wecom(data),
        database_url=_get(db, "database", "url", str, "sqlite:///wecom_hr.db"),
        redis_url=_get(rd, "redis", "url", str, ""),
        redis_prefix=_get(rd, "redis", "prefix", str, "wecom-hr:"),
        public_url=_get(srv, "server", "public_url", str, "http://127.0.0.1:8000").rstrip("/"),
        timezone=_get(srv, "server", "timezone", str, "Asia/Shanghai"),
        log_json=_get(srv, "server", "log_json", bool, False),
        worker=dataclass_from(WorkerSettings, section(data, "worker"), "worker"),
        callback=dataclass_from(CallbackSettings, section(data, "callback"), "callback"),
        api_tokens=_tokens(data),
        roles=_roles(data),
        raw=data,
    )
    for module in FEATURE_SETTINGS:
        # Each feature parses its own section, so a bad key stops start-up, not the first use.
        importlib.import_module(module).from_settings(settings)
    return settings


def load_settings(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    chosen = path or env.get(CONFIG_ENV)
    if not chosen:
        raise ConfigError("--config", f"no config file given (use --config PATH or {CONFIG_ENV})")
    p = Path(chosen)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", f"{p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), f"is not valid TOML ({exc})") from None
    return settings_from_mapping(raw, env)


# Modules with ``from_settings(settings)`` that parse (and cache nothing but) their own section.
FEATURE_SETTINGS: tuple[str, ...] = ()
FEATURE_SETTINGS += ("wecom_hr.customers.settings",)  # [customers] (issue 3)
FEATURE_SETTINGS += ("wecom_hr.receivables.settings",)  # [reminders], [receivables] (issue 6)
FEATURE_SETTINGS += ("wecom_hr.departures.settings",)  # [departures] (issue 5)
FEATURE_SETTINGS += ("wecom_hr.archive.settings",)  # [archive] (issue 4)
FEATURE_SETTINGS += ("wecom_hr.kpi.settings",)  # [kpi]: salesperson KPIs (issue 18)
FEATURE_SETTINGS += ("wecom_hr.risk.settings",)  # [risk], [[risk.rules]]: 跑单 early warning (issue 18)
FEATURE_SETTINGS += ("wecom_hr.receivables.email_settings",)  # [email]: dunning letters by email (issue 17)
