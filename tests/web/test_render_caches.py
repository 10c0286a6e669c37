"""What a page's formatting caches must not get wrong (portal.i18n, issue 9): the viewer's locale,
time zone and catalogue are looked up once per render and the patterns once per process, yet
every render still follows the language it is rendered in (another user, a locale switch in
the same worker, `force_locale`), and the templates' filters say exactly what the Python
functions say."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.dates import format_datetime
from flask import render_template_string
from flask_babel import force_locale, refresh
from flask_babel import lazy_gettext as _l
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from sqlalchemy import select
from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select
from wtforms.widgets.core import Input
from wtforms.widgets.core import html_params as wtforms_html_params

from portal import i18n
from portal.blueprints.fields import FastSelect, html_attributes
from portal.extensions import db
from portal.models import User
from tests.conftest import as_system
from tests.kit import build_kit, draft

D = Decimal
NB = "\xa0"

FILTERS = ('{{ a|money("PLN") }}|{{ a|money("EUR") }}|{{ n|money("PLN") }}|{{ d|date }}|'
           '{{ d|date("short") }}|{{ t|datetime }}|{{ t|datetime("short") }}|{{ t|date }}|'
           '{{ q|qty }}|{{ p|unit_price("PLN") }}|{{ a|number(places=2) }}|{{ s|file_size }}')
VALUES = {"a": D("1234.565"), "n": D("-0.005"), "d": date(2026, 3, 29),
          # 00:30 UTC on the day Warsaw moves its clocks: 01:30 CET (the date is the same)
          "t": datetime(2026, 3, 29, 0, 30, 59, tzinfo=UTC),
          "q": D("1234.1250"), "p": D("0.3350"), "s": 12_500}


def python_side():
    v = VALUES
    return "|".join([
        i18n.money(v["a"], "PLN"), i18n.money(v["a"], "EUR"), i18n.money(v["n"], "PLN"),
        i18n.day(v["d"]), i18n.day(v["d"], "short"), i18n.moment(v["t"]), i18n.moment(v["t"], "short"),
        i18n.day(v["t"]), i18n.quantity(v["q"]), i18n.unit_price(v["p"], "PLN"),
        i18n.number(v["a"], places=2), i18n.file_size(v["s"]),
    ])


@pytest.mark.parametrize(("language", "expected"), [
    ("pl", f"1{NB}234,57{NB}zł|1{NB}234,57{NB}€|-0,01{NB}zł|29 mar 2026|29.03.2026|"
           f"29 mar 2026, 01:30|29.03.2026, 01:30|29 mar 2026|1{NB}234,125|0,335{NB}zł|"
           f"1{NB}234,57|12,5{NB}kB"),
    ("en", f"1,234.57{NB}PLN|1,234.57{NB}EUR|-0.01{NB}PLN|29 Mar 2026|29 Mar 2026|"
           f"29 Mar 2026, 01:30|29 Mar 2026, 01:30|29 Mar 2026|1,234.125|0.335{NB}PLN|"
           f"1,234.57|12.5{NB}kB"),
])
def test_template_filters_say_what_the_python_functions_say(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert render_template_string(FILTERS, **VALUES) == expected
        assert python_side() == expected


def test_formats_follow_the_language_from_render_to_render(app):
    # One worker, renders in alternating languages: nothing cached leaks from one to the next.
    seen = []
    for language in ("pl", "en", "pl", "en"):
        with app.test_request_context(), force_locale(language):
            seen.append(render_template_string('{{ a|money("PLN") }} {{ _("Requisitions") }}', a=D("-5")))
    assert seen == [f"-5,00{NB}zł Zapotrzebowania", f"-5.00{NB}PLN Requisitions"] * 2


def test_a_locale_switch_within_a_request_applies_to_the_next_render(app):
    with app.test_request_context():
        with force_locale("pl"):
            first = render_template_string('{{ a|money("EUR") }} {{ _("Requisitions") }}', a=D("1"))
        refresh()
        with force_locale("en"):
            second = render_template_string('{{ a|money("EUR") }} {{ _("Requisitions") }}', a=D("1"))
            assert i18n.money(D("1"), "EUR") == f"1.00{NB}EUR"
    assert (first, second) == (f"1,00{NB}€ Zapotrzebowania", f"1.00{NB}EUR Requisitions")


MACROS = ('{% from "macros/ui.html" import bounded_count, keyset_pagination %}'
          '{{ bounded_count(page) }}|{{ keyset_pagination(page, "requisitions.index") }}')


def test_macros_imported_without_context_format_the_viewers_way(app, monkeypatch):
    # An imported macro does not see the render's context: it reads the render under way (its
    # language, formats and catalogue), render after render, and looks nothing up per value.
    lookups = []
    viewer = i18n.viewer
    monkeypatch.setattr(i18n, "viewer", lambda: lookups.append(1) or viewer())
    seen = []
    for language in ("pl", "en", "pl"):
        with app.test_request_context(), force_locale(language):
            seen.append(render_template_string(MACROS, page={"total": 12345, "more": True, "next": "x"}))
    assert [html.split("|")[0] for html in seen] == [f"12{NB}345+", "12,345+", f"12{NB}345+"]
    assert "Starsze →" in seen[0] and "Older →" in seen[1] and "Starsze →" in seen[2]
    assert len(lookups) == 3  # once per render (template_context), not once per number


def test_a_request_starts_with_no_render_under_way(app):
    with app.test_request_context(), force_locale("pl"):
        render_template_string("{{ 1|number }}")
        assert i18n._RENDER.get()["current_locale"] == "pl"
    with app.test_request_context("/login"):
        app.preprocess_request()  # the before-request hooks of the next request
        assert i18n._RENDER.get() is None


def test_bound_gettext_escapes_and_formats_as_jinja_does(app):
    with app.test_request_context(), force_locale("en"):
        html = render_template_string(
            '{{ _("Waiting on %(name)s", name=who) }}|{{ ngettext("%(num)s requisition", '
            '"%(num)s requisitions", 3) }}|{% trans %}Requisitions{% endtrans %}',
            who="<b>Ann</b>")
    assert html == "Waiting on &lt;b&gt;Ann&lt;/b&gt;|3 requisitions|Requisitions"


@given(st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=4),
       st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=3), st.booleans())
def test_numbers_written_before_are_written_as_babel_writes_them(value, places, extra, grouping):
    """A number is written once per value and shape (`i18n._WRITTEN`): 1.0 and 1.00, written
    after each other, are what Babel writes for each; so is a negative zero after a zero."""
    from babel import Locale
    from babel.numbers import format_decimal

    from portal.money import round_places

    for locale in (Locale.parse("pl_PL"), Locale.parse("en_IE")):
        for same in (value, value.normalize(), value.quantize(D("0.000001")), -value):
            shape = i18n._number_pattern(places, places + extra, grouping)
            babel = format_decimal(round_places(same, places + extra), format=shape, locale=locale)
            assert i18n._number(same, places, places + extra, grouping, locale) == babel


def test_moments_are_written_as_babel_writes_them(app):
    # The time of day is cached by hour and minute: the seconds and the zone never show.
    for moment in (datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
                   datetime(2026, 10, 25, 1, 0, 1, tzinfo=UTC),
                   datetime(2026, 7, 1, 23, 5, tzinfo=UTC)):
        for language, locale in (("pl", "pl_PL"), ("en", "en_IE")):
            with app.test_request_context(), force_locale(language):
                local = i18n._local(moment, i18n.viewer().tz)
                assert i18n.moment(moment) == format_datetime(
                    local, "medium", tzinfo=local.tzinfo, locale=locale
                ).replace(local.strftime(":%S"), "", 1)


def test_each_users_page_is_in_that_users_language(app, world, login_as):
    kit = build_kit(app, world)
    draft(kit, "1234.5")
    db.session.commit()
    english = login_as(kit.buyer).get("/requisitions/").text
    with as_system():
        db.session.scalars(select(User).where(User.id == kit.buyer.id)).one().locale = "pl"
        db.session.commit()
    polish = login_as(kit.buyer).get("/requisitions/").text
    english_again = login_as(kit.admin).get("/requisitions/all").text
    assert 'lang="en"' in english and "My requisitions" in english and f"1,234.50{NB}PLN" in english
    assert 'lang="pl"' in polish and "Moje zapotrzebowania" in polish and f"1{NB}234,50{NB}zł" in polish
    assert 'lang="en"' in english_again and "All requisitions" in english_again


class _Choices(Form):
    plain = SelectField(choices=[SelectChoice("", "All"), SelectChoice("a&b", 'Tom "T" <T>'),
                                 SelectChoice(True, "Yes"), SelectChoice(2, "")], coerce=str)
    fast = SelectField(choices=[SelectChoice("", "All"), SelectChoice("a&b", 'Tom "T" <T>'),
                                SelectChoice(True, "Yes"), SelectChoice(2, "")], coerce=str,
                       widget=FastSelect())


@pytest.mark.parametrize("chosen", ["", "a&b", "True", "2", "none of them"])
def test_fast_select_writes_wtforms_markup(chosen):
    form = _Choices(data={"plain": chosen, "fast": chosen})
    attrs = {"class": "x", "required": True}
    plain = str(form.plain(**attrs)).replace('id="plain"', 'id="fast"').replace('name="plain"', 'name="fast"')
    assert str(form.fast(**attrs)) == plain
    assert isinstance(form.fast(), Markup)


def test_fast_select_leaves_option_attributes_to_wtforms():
    class WithAttributes(Form):
        pick = SelectField(choices=[SelectChoice("a", "A", render_kw={"disabled": True})],
                           widget=FastSelect())

    field = WithAttributes().pick
    assert field() == Select()(field)
    assert "disabled" in field()


def test_wtforms_messages_follow_the_language(app):
    # One catalogue per language and process, not one read from disk per request.
    with app.test_request_context():
        app.preprocess_request()
        from flask import request

        messages = request.wtforms_translations
        with force_locale("pl"):
            polish = messages.ugettext("Not a valid choice.")
        with force_locale("en"):
            english = messages.ugettext("Not a valid choice.")
    assert english == "Not a valid choice."
    assert polish not in ("", english)


def test_fast_select_translates_lazy_labels_in_the_viewers_language(app):
    class Lazy(Form):
        plain = SelectField(choices=[SelectChoice("", _l("Everyone")), SelectChoice("x", "X")])
        fast = SelectField(choices=[SelectChoice("", _l("Everyone")), SelectChoice("x", "X")],
                           widget=FastSelect())

    for language, word in (("pl", "Wszyscy"), ("en", "Everyone")):
        with app.test_request_context(), force_locale(language):
            form = Lazy()
            fast = str(form.fast())
            assert fast == str(form.plain()).replace('"plain"', '"fast"')
            assert f">{word}</option>" in fast


_NAMES = st.from_regex(r"(data_|aria_)?[a-z]{1,8}(_[a-z]{1,5})?_?", fullmatch=True)
_VALUES = st.one_of(st.booleans(), st.none(), st.integers(), st.text(max_size=12),
                    st.text(alphabet='<>&"\' a', max_size=8).map(Markup))


@given(st.dictionaries(_NAMES, _VALUES, max_size=6))
def test_html_attributes_write_what_wtforms_writes(attributes):
    assert html_attributes(**attributes) == wtforms_html_params(**attributes)
    assert isinstance(html_attributes(**attributes), Markup)


def test_wtforms_inputs_use_the_fast_attribute_writer(app):
    class Fields(Form):
        text = StringField(render_kw={"placeholder": 'a "b" <c>', "data_x": True, "readonly": False})

    field = Fields(data={"text": "x&y"}).text
    assert Input.html_params is html_attributes
    assert str(field()) == ('<input data-x id="text" name="text" placeholder="a &#34;b&#34; &lt;c&gt;" '
                            'type="text" value="x&amp;y">')
