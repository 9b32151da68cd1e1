"""`wecom-hr receivables import FILE.csv`: stream a CSV export into the ledger.

The default header is a public contract:
``order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount``.
Other headers are mapped in ``[receivables.csv_columns]`` (field = "header in the file"). UTF-8 with
or without a BOM. Bad rows are reported with their line numbers; good rows are kept.

An optional ``customer_email`` column (issue 17) gives the customer's address for dunning letters;
it is kept per customer key, and a blank cell leaves a known address untouched.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO

from storage import audit
from storage.db import Database
from storage.receivables import customer_key, remember_emails
from wecom_hr.receivables.email_settings import check_address
from wecom_hr.receivables.ledger import ReceivableInput, RowError, parse_row, upsert_batch
from wecom_hr.receivables.settings import CSV_FIELDS, LedgerOptions

BATCH = 1000
REQUIRED = ("order_no", "salesperson", "amount", "due_on")


class CsvFileError(ValueError):
    """The whole file is unusable (encoding, missing header); nothing was imported."""


@dataclass(frozen=True)
class CsvRow(ReceivableInput):
    customer_email: str = ""  # "": none given in this row


def email_field(row: Mapping[str, object], name: str = "customer_email") -> str:
    """A validated address or ""; it ends up in a mail header, so CR/LF and lists are refused."""
    value = row.get(name)
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        return check_address(text)
    except ValueError as exc:
        raise RowError(f"{name}: {exc}") from None


def with_email(parsed: ReceivableInput, email: str) -> CsvRow:
    return CsvRow(**{f.name: getattr(parsed, f.name) for f in fields(parsed)}, customer_email=email)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, problem)

    @property
    def good(self) -> int:
        return self.created + self.updated


def header_map(header: list[str], columns: Mapping[str, str]) -> dict[str, str]:
    """Our field -> the file's header for it; CsvFileError when a required one is missing."""
    present = {h.strip() for h in header}
    mapping = {}
    for name in CSV_FIELDS:
        wanted = columns.get(name, name)
        if wanted in present:
            mapping[name] = wanted
    missing = [columns.get(n, n) for n in REQUIRED if n not in mapping]
    if "external_userid" not in mapping and "customer_name" not in mapping:
        missing.append(f"{columns.get('customer_name', 'customer_name')} (or external_userid)")
    if missing:
        raise CsvFileError(f"header is missing {', '.join(missing)}")
    return mapping


def rows(stream: IO[str], options: LedgerOptions) -> Iterator[tuple[int, ReceivableInput | RowError]]:
    """(line number, parsed row or its error) for each data row; blank lines are skipped."""
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
    except UnicodeDecodeError:
        raise CsvFileError("file is not UTF-8 (save it as \"CSV UTF-8\")") from None
    except csv.Error as exc:
        raise CsvFileError(f"line 1: {exc}") from None
    if not header:
        raise CsvFileError("file is empty")
    mapping = header_map(header, options.csv_columns)
    index = {name: [h.strip() for h in header].index(col) for name, col in mapping.items()}
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise CsvFileError(f"after line {reader.line_num}: not UTF-8 (save it as \"CSV UTF-8\")") from None
        except csv.Error as exc:
            yield reader.line_num, RowError(str(exc))
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield reader.line_num, RowError(f"{len(values)} fields, the header has {len(header)}")
            continue
        record = {name: values[i] if i < len(values) else "" for name, i in index.items()}
        try:
            yield reader.line_num, with_email(parse_row(record, options.default_currency), email_field(record))
        except RowError as exc:
            yield reader.line_num, exc


def import_csv(db: Database, path: str | Path, options: LedgerOptions, actor: str = "cli") -> ImportReport:
    """Import in batches of BATCH rows, each batch its own transaction (a 1M-row file never sits in memory)."""
    report = ImportReport()
    batch: list[ReceivableInput] = []
    with open(path, encoding="utf-8-sig", newline="") as stream:
        for line, parsed in rows(stream, options):
            if isinstance(parsed, RowError):
                report.errors.append((line, str(parsed)))
                continue
            batch.append(parsed)
            if len(batch) >= BATCH:
                _flush(db, batch, report)
    _flush(db, batch, report)
    with db.session_scope() as session:
        audit.record(session, actor, "receivables.import", {"file": Path(path).name, "created": report.created,
                                                            "updated": report.updated,
                                                            "bad_rows": len(report.errors)})
    return report


def _flush(db: Database, batch: list[ReceivableInput], report: ImportReport) -> None:
    if not batch:
        return
    with db.session_scope() as session:
        counts = upsert_batch(session, batch)
        remember_emails(session, [(customer_key(r.external_userid, r.customer_name), r.customer_email)
                                  for r in batch if isinstance(r, CsvRow) and r.customer_email])
    report.created += counts.created
    report.updated += counts.updated
    batch.clear()
