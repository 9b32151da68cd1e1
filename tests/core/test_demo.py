"""`wecom-hr demo --once`, the README's main command, plays the whole story against the simulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import free_port


def test_the_demo_plays_every_capability_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wecom_hr", "demo", "--once", "--port", str(free_port()),
                           "--dir", str(tmp_path / "demo")], capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in out + proc.stderr
    assert "WeCom received 0 message(s)" not in out  # the demo counts only what was delivered
    # Issue 17: the departure's money follows the customer, the checklist, the questionnaire, the letter.
    assert "now belongs to" in out and "the checklist is complete" in out
    assert "离职问卷" in out
    assert "追款函 - " in out and "received:" in out
    # Issue 18: six contacts of another's customer and a mobile number are flagged; the KPIs count them.
    assert "非分配客户跟进" in out and "联系方式外泄" in out
    assert "off_assignment_contacts 6" in out
