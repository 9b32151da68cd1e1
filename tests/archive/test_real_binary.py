"""Our SdkProcess against WeCom's own libWeWorkFinanceSdk_C.so.

The binary is published inside the PyPI wheel wecom-audit 0.1.6; it is fetched at run time and
never committed (it is not ours to redistribute). It is loaded only inside a network namespace
that holds nothing but loopback, so it cannot reach WeCom (or anything else): the script below
runs under ``unshare --net``, brings ``lo`` up and refuses to go on when ``ip route`` is not empty.
The test skips, saying why, when the wheel, unshare or ip cannot be had.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

WHEEL = "wecom-audit==0.1.6"
MEMBER = "wecom_audit/C_sdk/libWeWorkFinanceSdk_C.so"
ROOT = Path(__file__).resolve().parents[2]

# Runs inside the namespace. Prints one JSON object; exit 3 means "refused: the namespace has routes".
SCRIPT = r'''
import json, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout.strip()
if routes:
    print("refusing to load the real SDK: this namespace has routes: " + routes, file=sys.stderr)
    sys.exit(3)
from wecom_hr.archive.child import SdkProcess
from wecom_hr.archive.errors import ArchiveError, SdkCrashedError, SdkError

def outcome(call):
    try:
        call()
        return {"type": "ok"}
    except SdkError as exc:
        return {"type": "SdkError", "call": exc.call, "code": exc.code, "text": str(exc), "stderr": exc.stderr}
    except SdkCrashedError as exc:
        return {"type": "SdkCrashedError", "call": exc.call, "returncode": exc.returncode, "text": str(exc)}
    except ArchiveError as exc:
        return {"type": type(exc).__name__, "text": str(exc)}

with SdkProcess(sys.argv[1], "ww1436e0e65a779aee", "not-the-archive-secret", call_timeout=60) as proc:
    found = {"chat": outcome(lambda: proc.chat(0, 10, timeout=5)),
             "decrypt": outcome(lambda: proc.decrypt(b"0123456789abcdef0123456789abcdef", "AAAA")),
             "again": outcome(lambda: proc.chat(0, 10, timeout=5))}
print(json.dumps(found))
'''


def _skip_unless(ok: bool, reason: str) -> None:
    if not ok:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def real_sdk(tmp_path_factory: pytest.TempPathFactory) -> str:
    _skip_unless(sys.platform == "linux" and platform.machine() == "x86_64",
                 "WeCom's Finance SDK wheel is built for Linux x86_64 only")
    folder = tmp_path_factory.mktemp("real-sdk")
    cmd = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:",
           "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
           "--abi", "cp311", "-d", str(folder), "--quiet", "--disable-pip-version-check"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"pip download {WHEEL} failed: {exc}")
    wheels = list(folder.glob("wecom_audit-0.1.6-*.whl"))
    _skip_unless(done.returncode == 0 and bool(wheels),
                 f"pip download {WHEEL} failed: {(done.stderr.strip().splitlines() or ['no wheel'])[-1]}")
    out = folder / "libWeWorkFinanceSdk_C.so"
    with zipfile.ZipFile(wheels[0]) as wheel:
        _skip_unless(MEMBER in wheel.namelist(), f"{wheels[0].name} has no {MEMBER}")
        out.write_bytes(wheel.read(MEMBER))
    return str(out)


def _unshare() -> list[str]:
    _skip_unless(shutil.which("unshare") is not None, "unshare (util-linux) is not installed")
    _skip_unless(shutil.which("ip") is not None, "ip (iproute2) is not installed")
    tried = []
    for cmd in (["unshare", "--net"], ["unshare", "-rn"]):  # as root; else as a mapped root in a user namespace
        probe = subprocess.run([*cmd, "true"], capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return cmd
        tried.append(f"{' '.join(cmd)}: {probe.stderr.strip()}")
    pytest.skip("cannot make a network namespace (" + "; ".join(tried) + ")")


def _in_namespace(sdk: str, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "real_sdk_probe.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_HR_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([*_unshare(), sys.executable, str(script), sdk], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert done.returncode != 3, done.stderr  # refused: not a loopback-only namespace
    assert done.returncode == 0, done.stderr[-2000:]  # our parent survives whatever the SDK does
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_the_real_sdk_without_network(real_sdk: str, tmp_path: Path) -> None:
    found = _in_namespace(real_sdk, tmp_path)
    chat = found["chat"]
    # Init accepted a secret that is not the archive's: the real SDK checks nothing until GetChatData.
    assert (chat["type"], chat["call"], chat["code"]) == ("SdkError", "GetChatData", 10001), chat
    assert "10001" in chat["text"] and "\n" not in chat["text"]
    # An encrypt_chat_msg under 13 characters aborts the real SDK's process: ours reports it and lives on.
    decrypt = found["decrypt"]
    assert (decrypt["type"], decrypt["call"], decrypt["returncode"]) == ("SdkCrashedError", "DecryptData", -6), decrypt
    assert "\n" not in decrypt["text"]
    # ...and the next call starts a fresh child.
    assert (found["again"]["type"], found["again"].get("code")) == ("SdkError", 10001), found["again"]
