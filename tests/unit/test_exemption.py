"""The legal basis of a VAT exemption (portal/domain/exemption.py): kinds, the checks of the
text (required with a zw line, at most 256 characters, one line of plain text), what is kept."""

from __future__ import annotations

import pytest

from portal.domain import exemption
from portal.domain.exemption import ExemptionBasisKind, basis_problem, stored_basis


def field_of(found):
    return None if found is None else found[1]


def test_the_three_kinds_are_the_three_fields_of_fa3():
    assert exemption.KINDS == ("ustawa", "dyrektywa", "inna")
    assert set(exemption.KIND_LABELS) == set(exemption.KIND_PRINTED) == set(ExemptionBasisKind)


def test_common_provisions_are_valid_bases_of_their_kind():
    assert len(exemption.COMMON_PROVISIONS) >= 5
    assert any(p.text == "art. 113 ust. 1 ustawy o VAT" for p in exemption.COMMON_PROVISIONS)
    for provision in exemption.COMMON_PROVISIONS:
        assert basis_problem(provision.kind, provision.text, required=True) is None
        assert stored_basis(provision.kind, provision.text) == (provision.kind, provision.text)


def test_a_zw_line_requires_the_kind_and_the_text():
    assert field_of(basis_problem(None, "art. 43 ust. 1 pkt 37 ustawy o VAT", required=True)) == "exemption_basis_kind"
    assert field_of(basis_problem("ustawa", "   ", required=True)) == "exemption_basis"
    assert field_of(basis_problem("", "", required=True)) == "exemption_basis"
    assert basis_problem("dyrektywa", "art. 132 ust. 1 lit. i dyrektywy 2006/112/WE", required=True) is None


def test_without_a_zw_line_a_blank_or_half_filled_basis_is_not_a_problem_and_not_kept():
    assert basis_problem(None, "", required=False) is None
    assert basis_problem("ustawa", "", required=False) is None
    assert stored_basis("ustawa", "") == (None, "")
    assert stored_basis(None, "art. 113 ust. 1 ustawy o VAT") == (None, "")


@pytest.mark.parametrize("text", ["art. 43\x00", "art. 43\nust. 1", "art.\t43", "a\u2028b", "\x1b[31m"])
def test_control_characters_are_refused(text):
    assert field_of(basis_problem("ustawa", text, required=True)) == "exemption_basis"
    assert stored_basis("ustawa", text) == (None, "")


def test_at_most_256_characters_as_fa3_allows():
    assert basis_problem("inna", "x" * 256, required=True) is None
    found = basis_problem("inna", "x" * 257, required=True)
    assert field_of(found) == "exemption_basis" and found[0].params == {"num": 256}


def test_an_unknown_kind_is_refused_and_the_text_is_tidied():
    assert field_of(basis_problem("law", "art. 43", required=False)) == "exemption_basis_kind"
    assert stored_basis(" USTAWA ", "  art. 43   ust. 1  pkt 37 ustawy o VAT ") == (
        "ustawa", "art. 43 ust. 1 pkt 37 ustawy o VAT")


def test_exempt_lines_are_told_by_the_vat_code():
    assert exemption.has_exempt_lines(["23", "zw"])
    assert not exemption.has_exempt_lines(["23", "np", "oo", "0", None, "bogus"])
