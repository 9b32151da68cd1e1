"""One check's outcome and what checks learn for later ones (WeCom's clock)."""

from __future__ import annotations

from dataclasses import dataclass, field

PASS, FAIL, SKIP = "通过", "失败", "跳过"


@dataclass(frozen=True)
class Check:
    status: str
    key: str
    message: str

    @classmethod
    def ok(cls, key: str, message: str) -> Check:
        return cls(PASS, key, message)

    @classmethod
    def fail(cls, key: str, message: str) -> Check:
        return cls(FAIL, key, message)

    @classmethod
    def skip(cls, key: str, message: str) -> Check:
        return cls(SKIP, key, message)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"[{self.status}] {self.key}: {' '.join(self.message.split())}"


@dataclass
class Probe:
    wecom_dates: list[tuple[float, float]] = field(default_factory=list)  # (our time, WeCom's Date header)
