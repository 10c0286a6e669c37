"""Spreadsheets as CSV: reading uploads into rows keyed by column name, and writing downloads.

Reading: decoding (UTF-8 with or without BOM; workbooks refused) and delimiter detection
(Polish Excel writes semicolons) are the catalog import's, shared here; amounts may use a
decimal comma. Writing: one writer for every export, in the reader's dialect (`;` and a decimal
comma for Polish), UTF-8 with a BOM, cells guarded against formula injection.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from portal.domain.catalog import CsvFileProblem as CsvProblem
from portal.domain.catalog import decode_csv, detect_delimiter
from portal.domain.messages import N_, Msg

__all__ = ["CsvProblem", "csv_cell", "dialect_for", "parse_decimal", "read_rows", "write_csv"]


def read_rows(data: bytes, *, required: tuple[str, ...], max_rows: int = 5000) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts keyed by lower-case header; refuses a file without the
    required columns, an unreadable file, or one with too many rows (CsvProblem)."""
    text = decode_csv(data)
    delimiter = detect_delimiter(text.split("\n", 1)[0])
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in headers]
    if missing:
        raise CsvProblem(Msg(N_("Missing columns: %(columns)s."), {"columns": ", ".join(missing)}))
    rows = []
    for raw in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None})
        if len(rows) > max_rows:
            raise CsvProblem(Msg(N_("The file has more than %(n)s rows."), {"n": max_rows}))
    return rows


def parse_decimal(value: str) -> Decimal | None:
    """`12 345,50`, `12345.50` or `12,345.50` → Decimal; empty → None; anything else raises."""
    cleaned = (value or "").replace("\xa0", "").replace(" ", "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(",", "") if cleaned.rfind(".") > cleaned.rfind(",") else \
            cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not number.is_finite():
        raise ValueError(value)
    return number


# --- writing: every CSV download goes through `write_csv` (the edge's `csv_response`) ----------

BOM = "\ufeff"
# A cell a spreadsheet would run as a formula (CSV injection, OWASP): `=`, `+`, `-`, `@`, or a
# tab / carriage return in front of one. Such text gets a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def dialect_for(language: str | None) -> tuple[str, str]:
    """(separator, decimal mark) for a reader's language: Polish Excel splits on `;` and reads
    `1,5`; everyone else gets `,` and `1.5`."""
    return (";", ",") if str(language or "en").split("_")[0] == "pl" else (",", ".")


def csv_cell(value, decimal_mark: str = ".", *, as_text=str) -> str:
    """One cell as text. Numbers keep every digit (no grouping, the reader's decimal mark), so
    a spreadsheet reads them as numbers; dates are ISO 8601; `as_text` turns anything else (a
    message) into text, which is guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", decimal_mark)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    cell = value if isinstance(value, str) else as_text(value)
    if cell.startswith(FORMULA_START):
        return "'" + cell
    return cell


def write_csv(header: Sequence, rows: Iterable[Sequence], *, separator: str = ",",
              decimal_mark: str = ".", as_text=str, chunk: int = 200) -> Iterator[str]:
    """The CSV text in pieces of `chunk` rows: a BOM (so Excel reads UTF-8), the header, the
    rows, CRLF line ends, every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([csv_cell(cell, decimal_mark, as_text=as_text) for cell in header])
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(cell, decimal_mark, as_text=as_text) for cell in row])
        if count % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
