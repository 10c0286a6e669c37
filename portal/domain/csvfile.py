"""Reading spreadsheets saved as CSV: UTF-8 with or without BOM, comma or semicolon, decimal
commas (Polish Excel writes `12 345,50` with semicolons)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from portal.domain.messages import N_, Msg


class CsvProblem(ValueError):
    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def read_rows(data: bytes, *, required: tuple[str, ...], max_rows: int = 5000) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts keyed by lower-case header; refuses a file without the
    required columns, an undecodable file, or one with too many rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvProblem(Msg(N_("The file is not UTF-8 text. Save it as “CSV UTF-8”."))) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
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
