"""Reading spreadsheets saved as CSV into rows keyed by column name.

Decoding (UTF-8 with or without BOM; workbooks refused) and delimiter detection (Polish Excel
writes semicolons) are the catalog import's, shared here; amounts may use a decimal comma.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from portal.domain.catalog import CsvFileProblem as CsvProblem
from portal.domain.catalog import decode_csv, detect_delimiter
from portal.domain.messages import N_, Msg

__all__ = ["CsvProblem", "parse_decimal", "read_rows"]


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
