"""`wecom-hr demo` plays the departure scene end to end over real HTTP, a customer refusing included."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import free_port
from wecom_hr import demo


def test_demo_runs_one_departure_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    session = demo.run(tmp_path, free_port(), once=True, out=lines.append)
    try:
        text = "\n".join(lines)
        assert "== Departure handover" in text
        assert "POST /api/v1/departures -> 201" in text and re.search(r"离职交接: \d+ 位客户, \d+ 个客户群", text)
        assert "is refused and audited" in text and "已同意 by " in text
        assert "refused (transfer_fail)" in text and "客户拒绝" in text
        assert "客户交接简报" in text and "离职交接完成" in text
        assert re.search(r"state completed, customers \{'done': \d+, 'refused': 1\}", text)
    finally:
        session.stop()
