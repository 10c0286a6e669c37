"""Catalog rules: units, VAT rates, SKU and price checks, search folding, and the CSV import format.

Pure Python. Messages are `Msg`s, translated by the web layer.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from portal import money
from portal.domain.messages import N_, Msg
from portal.domain.vat import TAXED_RATES

# Unit codes are stored; labels are shown. `pcs` is "szt." in Polish.
UNITS: tuple[tuple[str, str], ...] = (
    ("pcs", N_("pcs")),
    ("kg", N_("kg")),
    ("t", N_("t")),
    ("m", N_("m")),
    ("m2", N_("m²")),
    ("m3", N_("m³")),
    ("l", N_("l")),
    ("h", N_("h")),
    ("day", N_("day")),
    ("month", N_("month")),
    ("box", N_("box")),
    ("pack", N_("pack")),
    ("ream", N_("ream")),
    ("roll", N_("roll")),
    ("pair", N_("pair")),
    ("set", N_("set")),
    ("licence", N_("licence")),
    ("service", N_("service")),
)
UNIT_CODES = frozenset(code for code, _ in UNITS)
DEFAULT_UNIT = "pcs"
# What people type in spreadsheets, mostly Polish abbreviations, mapped to our codes.
UNIT_ALIASES = {
    "szt": "pcs", "szt.": "pcs", "pc": "pcs", "piece": "pcs", "pieces": "pcs", "ea": "pcs",
    "kpl": "set", "kpl.": "set", "opak": "pack", "opak.": "pack", "op": "pack", "op.": "pack",
    "godz": "h", "godz.": "h", "hour": "h", "hours": "h", "mb": "m", "m²": "m2", "m³": "m3",
    "litr": "l", "ryza": "ream", "rolka": "roll", "para": "pair", "dzień": "day", "mies.": "month",
    "license": "licence", "licencja": "licence", "usł": "service", "usługa": "service",
    "karton": "box", "pudełko": "box",
}

# Polish VAT rates (art. 41 and 146ef of the VAT act), highest first as the form offers them.
VAT_RATES: tuple[Decimal, ...] = TAXED_RATES
DEFAULT_VAT_RATE = Decimal("23")

SKU_MAX = 40
NAME_MAX = 200
DESCRIPTION_MAX = 2000
CODE_MAX = 30
PRICE_PLACES = 4
# UnitPrice is NUMERIC(18, 4): at most 14 digits before the decimal point.
PRICE_INTEGER_DIGITS = 14

_SKU = re.compile(r"^[^\s;,\"']+$")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]*$")
_PRICE = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
# Letters NFKD does not decompose into base letter + accent.
_FOLD_EXTRA = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i"})


def fold_for_search(text: str) -> str:
    """Lower-case and strip accents, so "Krzesło" and "krzeslo" meet.

    SQLite's lower() and LIKE fold ASCII only; comparing folded text makes search behave the
    same on SQLite and PostgreSQL, and forgives a missing Polish keyboard.
    """
    folded = unicodedata.normalize("NFKD", (text or "").casefold().translate(_FOLD_EXTRA))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def normalize_unit(value: str) -> str | None:
    """The unit code for what was typed (`szt.` -> `pcs`), or None when unknown."""
    raw = (value or "").strip().lower()
    if raw in UNIT_CODES:
        return raw
    return UNIT_ALIASES.get(raw)


def normalize_code(value: str) -> str:
    """Category and cost-centre codes are compared and stored upper-case."""
    return (value or "").strip().upper()


def check_code(code: str) -> Msg | None:
    """A code: letters, digits, `_ . -`, at most 30 characters."""
    if not code:
        return Msg(N_("Enter a code."))
    if len(code) > CODE_MAX:
        return Msg(N_("A code has at most %(max)s characters."), {"max": CODE_MAX})
    if not _CODE.match(code):
        return Msg(N_("Use letters, digits, dots, dashes and underscores only."))
    return None


def check_sku(sku: str) -> Msg | None:
    """A SKU: 1-40 characters, no spaces, quotes, commas or semicolons (it travels in CSV)."""
    if not sku:
        return Msg(N_("Enter the SKU."))
    if len(sku) > SKU_MAX:
        return Msg(N_("A SKU has at most %(max)s characters."), {"max": SKU_MAX})
    if not _SKU.match(sku):
        return Msg(N_("A SKU cannot contain spaces, quotes, commas or semicolons."))
    return None


class PriceProblem(ValueError):
    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


def parse_price(text: str) -> Decimal | None:
    """`12,50`, `12.50`, `1 234,5` -> Decimal; empty -> None.

    Raises PriceProblem for a negative or ill-formed price or more than 4 decimal places.
    A value with both a comma and a dot is refused: `1.234,50` and `1,234.50` are ambiguous.
    """
    raw = (text or "").strip().translate(_SPACES)
    if not raw:
        return None
    if not _PRICE.match(raw):
        raise PriceProblem(
            Msg(N_("“%(value)s” is not a price; write e.g. 12.50 or 12,50."), {"value": text})
        )
    value = Decimal(raw.replace(",", "."))
    return check_price(value)


def check_price(value: Decimal) -> Decimal:
    """A list price: not negative, at most 4 decimal places, fits NUMERIC(18, 4)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PriceProblem(Msg(N_("This is not a price.")))
    if value < 0:
        raise PriceProblem(Msg(N_("The price cannot be negative.")))
    if value >= Decimal(10) ** PRICE_INTEGER_DIGITS:
        raise PriceProblem(Msg(N_("The price is too large.")))
    if value.normalize().as_tuple().exponent < -PRICE_PLACES:
        raise PriceProblem(
            Msg(N_("A price has at most %(places)s decimal places."), {"places": PRICE_PLACES})
        )
    return value


def parse_vat_rate(text: str) -> Decimal | None:
    """`23`, `23%`, `23,00`, `8 %` -> Decimal; empty -> None; anything else raises PriceProblem."""
    raw = (text or "").strip().translate(_SPACES).removesuffix("%")
    if not raw:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value not in VAT_RATES:
        raise PriceProblem(
            Msg(N_("VAT rate “%(value)s” is not one of 23, 8, 5 or 0."), {"value": text.strip()})
        )
    return value


def format_rate(rate: Decimal | None) -> str:
    """23.00 -> `23`, 5.50 -> `5.5`."""
    if rate is None:
        return ""
    text = f"{Decimal(rate):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- CSV import --------------------------------------------------------------------------------

COLUMNS = (
    "sku", "name", "description", "unit", "category_code", "vat_rate", "list_price", "currency",
    "preferred_supplier_tax_id",
)
REQUIRED_COLUMNS = ("sku", "name")
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024

SAMPLE_ROWS = (
    ("BIU-PAP-A4", "Papier ksero A4 80 g/m², ryza 500 ark.", "Biały, klasa C", "ream", "OFFICE",
     "23", "18.90", "PLN", ""),
    ("IT-MYS-01", "Mysz bezprzewodowa", "", "pcs", "IT", "23", "59.00", "PLN", ""),
    ("SRV-SERW-H", "Serwis maszyn, roboczogodzina", "", "h", "SERV", "23", "180", "PLN", ""),
)


class CsvFileProblem(ValueError):
    """The file as a whole cannot be read; nothing is imported."""

    def __init__(self, msg: Msg):
        super().__init__(str(msg))
        self.msg = msg


@dataclass(frozen=True)
class CatalogRow:
    """One valid data row. A field left None was not given: the default on create, unchanged on
    update."""

    row: int
    sku: str
    name: str
    description: str | None = None
    unit: str | None = None
    category_code: str | None = None
    vat_rate: Decimal | None = None
    list_price: Decimal | None = None
    currency: str | None = None
    supplier_tax_id: str | None = None


@dataclass(frozen=True)
class RowError:
    """Why one data row was skipped. `row` counts as a spreadsheet does: the header is row 1."""

    row: int
    sku: str
    messages: tuple[Msg, ...]


@dataclass
class ParsedFile:
    rows: list[CatalogRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    delimiter: str = ","


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV file: UTF-8 with or without BOM; workbooks and binary refused."""
    if data[:4] == b"PK\x03\x04" or data[:4] == b"\xd0\xcf\x11\xe0":
        raise CsvFileProblem(
            Msg(N_("This is a spreadsheet workbook, not a CSV file. In Excel use "
                   "“Save as” → “CSV UTF-8”."))
        )
    if b"\x00" in data[:4096]:
        raise CsvFileProblem(Msg(N_("This is not a text file. Upload a CSV file.")))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileProblem(
            Msg(N_("The file is not UTF-8 encoded. In Excel use “Save as” → “CSV UTF-8”."))
        ) from None
    if not text.strip():
        raise CsvFileProblem(Msg(N_("The file is empty.")))
    return text


def detect_delimiter(header_line: str) -> str:
    """Polish Excel writes semicolons (its decimal separator is the comma); others commas."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower().replace(" ", "_") for c in cells]
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise CsvFileProblem(
            Msg(
                N_("Unknown column(s): %(columns)s. The columns are: %(expected)s."),
                {"columns": ", ".join(unknown), "expected": ", ".join(COLUMNS)},
            )
        )
    seen = set()
    for n in names:
        if n and n in seen:
            raise CsvFileProblem(Msg(N_("Column %(column)s appears twice."), {"column": n}))
        seen.add(n)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise CsvFileProblem(
            Msg(
                N_("The first row must be the header with at least the columns %(required)s "
                   "(missing: %(missing)s)."),
                {"required": ", ".join(REQUIRED_COLUMNS), "missing": ", ".join(missing)},
            )
        )
    return names


def _row(number: int, values: dict[str, str], currencies) -> CatalogRow | RowError:
    problems: list[Msg] = []
    sku = values.get("sku", "").strip()
    name = " ".join(values.get("name", "").split())
    if problem := check_sku(sku):
        problems.append(problem)
    if not name:
        problems.append(Msg(N_("The name is missing.")))
    elif len(name) > NAME_MAX:
        problems.append(Msg(N_("The name is longer than %(max)s characters."), {"max": NAME_MAX}))

    def given(column: str) -> str | None:
        value = values.get(column)
        return value.strip() if value is not None and value.strip() else None

    description = given("description")
    if description is not None and len(description) > DESCRIPTION_MAX:
        problems.append(
            Msg(N_("The description is longer than %(max)s characters."), {"max": DESCRIPTION_MAX})
        )
    unit = given("unit")
    if unit is not None:
        code = normalize_unit(unit)
        if code is None:
            problems.append(Msg(N_("Unknown unit “%(unit)s”."), {"unit": unit}))
        unit = code
    category = given("category_code")
    if category is not None:
        category = normalize_code(category)
        if len(category) > CODE_MAX:
            problems.append(Msg(N_("Unknown category %(code)s."), {"code": category}))
    vat_rate = list_price = None
    try:
        vat_rate = parse_vat_rate(values.get("vat_rate", ""))
    except PriceProblem as exc:
        problems.append(exc.msg)
    try:
        list_price = parse_price(values.get("list_price", ""))
    except PriceProblem as exc:
        problems.append(exc.msg)
    currency = given("currency")
    if currency is not None:
        currency = currency.upper()
        if currency not in currencies:
            problems.append(
                Msg(N_("Currency %(currency)s is not an ISO 4217 code in use."),
                    {"currency": currency})
            )
    tax_id = given("preferred_supplier_tax_id")
    if tax_id is not None:
        tax_id = re.sub(r"[\s\-.]", "", tax_id).upper()
    if problems:
        return RowError(number, sku, tuple(problems))
    return CatalogRow(
        row=number, sku=sku, name=name, description=description, unit=unit,
        category_code=category, vat_rate=vat_rate, list_price=list_price, currency=currency,
        supplier_tax_id=tax_id,
    )


def parse_catalog_csv(
    data: bytes, *, currencies=None, max_rows: int = MAX_ROWS
) -> ParsedFile:
    """Read an uploaded catalog CSV: UTF-8 with or without BOM, `,` `;` or tab delimited.

    Returns the valid rows and, per invalid row, why it is skipped (every reason, not just the
    first). Raises CsvFileProblem when the file as a whole is unusable: not UTF-8 text, a
    workbook, no header, unknown columns, more than `max_rows` data rows.
    A SKU that appears again in the file is refused on its later rows. `currencies`: the codes
    accepted (default: every ISO 4217 currency in use).
    """
    currencies = money.currencies() if currencies is None else currencies
    text = decode_csv(data)
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    parsed = ParsedFile(delimiter=delimiter)
    try:
        header = None
        for cells in reader:
            if header is None:
                if not any(c.strip() for c in cells):
                    continue
                header = _header(cells)
                number = 1
                first_seen: dict[str, int] = {}
                continue
            number += 1
            if not any(c.strip() for c in cells):
                continue  # spreadsheets leave blank lines (";;;;") at the end
            if len(parsed.rows) + len(parsed.errors) >= max_rows:
                raise CsvFileProblem(
                    Msg(N_("The file has more than %(max)s rows. Split it into smaller files."),
                        {"max": max_rows})
                )
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                parsed.errors.append(
                    RowError(number, cells[0].strip() if cells else "", (
                        Msg(N_("The row has more values than the header has columns; check the "
                               "delimiter and the quotes.")),
                    ))
                )
                continue
            values = {name: cells[i] if i < len(cells) else "" for i, name in enumerate(header)
                      if name}
            result = _row(number, values, currencies)
            key = values.get("sku", "").strip().casefold()
            if key and key in first_seen:
                messages = result.messages if isinstance(result, RowError) else ()
                result = RowError(number, values["sku"].strip(), (
                    Msg(N_("SKU %(sku)s already appears on row %(row)s of this file."),
                        {"sku": values["sku"].strip(), "row": first_seen[key]}),
                    *messages,
                ))
            elif key:
                first_seen[key] = number
            (parsed.errors if isinstance(result, RowError) else parsed.rows).append(result)
    except csv.Error as exc:
        raise CsvFileProblem(
            Msg(N_("The file is not valid CSV near row %(row)s."), {"row": reader.line_num})
        ) from exc
    if header is None:
        raise CsvFileProblem(Msg(N_("The file is empty.")))
    return parsed


def sample_csv(*, polish: bool) -> bytes:
    """A sample import file. Polish Excel expects `;` and decimal commas; others `,` and dots.

    Starts with a BOM so Excel reads the Polish letters as UTF-8.
    """
    delimiter = ";" if polish else ","
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in SAMPLE_ROWS:
        cells = list(row)
        if polish:
            cells[6] = cells[6].replace(".", ",")
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
