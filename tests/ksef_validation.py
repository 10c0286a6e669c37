"""Validate KSeF FA(3) XML against the official XSD vendored in tests/data/ksef_fa3/, offline.

The schemas import each other by absolute http URLs (crd.gov.pl); `uri_mapper` sends every
one to the local copy of the same file name and `allow="sandbox"` keeps the validator from
reaching anything outside that directory (no network in tests). The compiled schema is cached
for the run: compiling the 180 kB schema takes a while.

    from tests.ksef_validation import validate_fa3
    validate_fa3(fa3_xml(invoice))   # raises xmlschema.XMLSchemaValidationError when invalid
"""

from __future__ import annotations

import functools
from pathlib import Path

import xmlschema

SCHEMAS = Path(__file__).parent / "data" / "ksef_fa3"
MAIN = SCHEMAS / "schemat_FA(3)_v1-0E.xsd"
NAMESPACE = "http://crd.gov.pl/wzor/2025/06/25/13775/"


def _local(uri: str) -> str:
    """An http(s) schema location mapped to the vendored file of the same name."""
    if uri.startswith(("http://", "https://")):
        local = SCHEMAS / uri.rsplit("/", 1)[-1]
        if local.is_file():
            return local.as_uri()
    return uri


@functools.cache
def fa3_schema() -> xmlschema.XMLSchema10:
    """The compiled FA(3) schema (cached)."""
    return xmlschema.XMLSchema10(str(MAIN), uri_mapper=_local, allow="sandbox",
                                 base_url=str(SCHEMAS))


def fa3_errors(xml_bytes: bytes) -> list[str]:
    """Every validation error of the document, as readable lines (empty when valid)."""
    return [f"{error.path}: {error.reason}" for error in fa3_schema().iter_errors(xml_bytes)]


def validate_fa3(xml_bytes: bytes) -> None:
    """Raise xmlschema.XMLSchemaValidationError unless `xml_bytes` is a valid FA(3) invoice."""
    fa3_schema().validate(xml_bytes)
