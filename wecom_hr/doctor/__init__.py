"""`wecom-hr doctor`: the configuration checked against WeCom and this machine, one line per check.

Each check names the config key it is about and says, in Chinese, what is wrong and where to fix
it. Exit 0 only when every check passes (a check that does not apply, e.g. the archive when no
sdk_path is set, is skipped). The checks are listed here, in the order they print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from wecom_hr.doctor import archive, infra, wecom
from wecom_hr.doctor.result import Check, Probe
from wecom_hr.runtime import Runtime

CHECKS: tuple[Callable[[Runtime, Probe], Iterable[Check]], ...] = (
    infra.public_url,
    infra.database,
    infra.redis,
    wecom.secrets,       # gettoken for each configured secret; records WeCom's Date header
    infra.clock,         # our clock against that Date header (the callback replay window)
    wecom.directory,     # members and departments the app can see
    wecom.customer_contact,
    archive.finance_sdk,
)


def run(runtime: Runtime) -> list[Check]:
    probe, results = Probe(), list[Check]()
    for check in CHECKS:
        try:
            results.extend(check(runtime, probe))
        except Exception as exc:  # a check that breaks is a failed check, never a traceback
            results.append(Check.fail(check.__name__, f"检查本身出错：{type(exc).__name__}: {str(exc)[:200]}"))
    return results
