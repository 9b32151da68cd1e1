"""Archive fixtures: the stand-in Finance SDK compiled with gcc, RSA keys per publickey_ver, and
a chat file the stand-in serves (sealed exactly as the SDK path expects: RSA-PKCS#1 v1.5 random
key, stand-in cipher body)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from storage.db import Database
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.settings import ArchiveSettings
from wecom_hr.archive.source import SdkSource, seal_envelope

SOURCE = Path(__file__).with_name("fake_finance_sdk.c")
CORP = "ww1436e0e65a779aee"
T0 = 1_700_000_000_000


@pytest.fixture(scope="session")
def fake_sdk_lib(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the stand-in Finance SDK")
    out = tmp_path_factory.mktemp("sdk") / "libWeWorkFinanceSdk_C.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-Wall", "-o", str(out), str(SOURCE), "-ldl"], check=True)
    return str(out)


@pytest.fixture(scope="session")
def rsa_keys() -> dict[int, rsa.RSAPrivateKey]:
    """Two key versions, as after one key rotation in the WeCom admin console."""
    return {v: rsa.generate_private_key(public_exponent=65537, key_size=2048) for v in (1, 2)}


def write_pem(path: Path, key: rsa.RSAPrivateKey) -> str:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return str(path)


def message(msgid: str, text: str = "", *, sender: str = "zhangsan", to: tuple[str, ...] = ("wmCustomer1",),
            room: str = "", at: int = 0, msgtype: str = "text", **body: Any) -> dict[str, Any]:
    """A decrypted archive message as WeCom sends it."""
    payload = body or ({"text": {"content": text}} if msgtype == "text" else {})
    return {"msgid": msgid, "action": "send", "from": sender, "tolist": list(to), "roomid": room,
            "msgtime": T0 + at * 1000, "msgtype": msgtype, **payload}


@dataclass
class FakeArchive:
    """The stand-in SDK's world: the chat file it serves, media files, and the keys."""

    folder: Path
    lib: str
    keys: dict[int, rsa.RSAPrivateKey]
    key_files: dict[int, str] = field(default_factory=dict)
    seq: int = 0

    def configure(self, **values: object) -> None:
        """Set keys of the stand-in's configuration file (see fake_finance_sdk.c), read at every call."""
        conf = Path(self.lib + ".conf")
        lines = dict(line.split("=", 1) for line in conf.read_text().splitlines()) if conf.exists() else {}
        lines.update({k: str(v) for k, v in values.items()})
        conf.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))

    @property
    def data(self) -> Path:
        return self.folder / "chat.tsv"

    @property
    def media_dir(self) -> Path:
        return self.folder / "media"

    @property
    def stats(self) -> str:
        path = self.folder / "stats.txt"
        return path.read_text().strip() if path.exists() else ""

    def add(self, msg: dict[str, Any], version: int = 1, seq: int | None = None) -> int:
        self.seq = seq if seq is not None else self.seq + 1
        item = seal_envelope(self.seq, msg, version, self.keys[version].public_key())
        with self.data.open("a", encoding="utf-8") as out:
            out.write(f"{self.seq}\t{json.dumps(item)}\n")
        return self.seq

    def add_raw(self, item: dict[str, Any]) -> None:
        self.seq = int(item["seq"])
        with self.data.open("a", encoding="utf-8") as out:
            out.write(f"{self.seq}\t{json.dumps(item)}\n")

    def settings(self, versions: tuple[int, ...] = (1, 2), **extra: Any) -> ArchiveSettings:
        keys = {v: self.key_files[v] for v in versions}
        return ArchiveSettings(sdk_path=self.lib, private_keys=keys, call_timeout_seconds=10.0, **extra)

    def source(self, versions: tuple[int, ...] = (1, 2), **extra: Any) -> SdkSource:
        return SdkSource(self.settings(versions, **extra), CORP, "archive-secret")

    def keyring(self, versions: tuple[int, ...] = (1, 2)) -> KeyRing:
        return KeyRing({v: self.key_files[v] for v in versions})


@pytest.fixture
def fake_archive(tmp_path: Path, fake_sdk_lib: str,
                 rsa_keys: dict[int, rsa.RSAPrivateKey]) -> Iterator[FakeArchive]:
    # A copy per test: the stand-in reads "<its own path>.conf", so each test configures its own.
    lib = tmp_path / "sdk" / "libWeWorkFinanceSdk_C.so"
    lib.parent.mkdir()
    shutil.copyfile(fake_sdk_lib, lib)
    archive = FakeArchive(tmp_path, str(lib), rsa_keys)
    archive.media_dir.mkdir()
    archive.data.touch()
    archive.key_files = {v: write_pem(tmp_path / f"archive_v{v}.pem", k) for v, k in rsa_keys.items()}
    archive.configure(data=archive.data, media_dir=archive.media_dir, stats=tmp_path / "stats.txt")
    yield archive


@pytest.fixture
def archive_db(db: Database) -> Database:
    return db
