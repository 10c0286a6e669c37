"""Code lists: rows with a code, a name and an active flag (catalog categories, cost centres),
edited the same way everywhere: add, edit, deactivate, reactivate. One set of views, registered
on each feature's blueprint with that feature's endpoints, forms, services and messages.

The list page itself stays with its feature (what it shows beside code and name differs); its
table and the form page share `templates/macros/codelist.html`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from portal.blueprints.edge import actor, button_action, form_action, form_status, or_404, saved
from portal.blueprints.once import creates
from portal.htmx import render
from portal.policies import require


@dataclass(frozen=True)
class CodeList:
    """How one feature's code list is edited.

    `path`/`suffix`/`id_arg` keep the feature's URLs and endpoint names (`/categories/new` is
    `catalog.new_category`); `rules` prefixes the policy names (`catalog` → `catalog.manage`,
    `catalog.deactivate`); `messages` are message ids (marked with `N_`) with a `%(code)s`
    parameter for `added`, `saved`, `deactivated` and `reactivated`.
    """

    bp: Blueprint
    path: str
    suffix: str
    id_arg: str
    rules: str
    index: str
    template: str
    context_name: str
    load: Callable[[int], object | None]
    form: Callable[[object | None], object]
    values: Callable[[object], dict]
    create: Callable
    update: Callable
    deactivate: Callable
    reactivate: Callable
    messages: dict


def register(spec: CodeList) -> None:
    """Add the new / edit / deactivate / reactivate views of `spec` to its blueprint."""
    manage = require(f"{spec.rules}.manage")
    item_path = f"{spec.path}/<int:{spec.id_arg}>"

    def message(key: str, row) -> str:
        return gettext(spec.messages[key], code=row.code)

    def page(form, row):
        return render(spec.template, form=form, **{spec.context_name: row}), form_status()

    def new():
        form = spec.form(None)
        return form_action(
            form, lambda: spec.create(current_user.organization, **spec.values(form), actor=actor()),
            lambda row: saved(message("added", row), url_for(spec.index)),
        ) or page(form, None)

    def edit(**ids):
        row = or_404(spec.load(ids[spec.id_arg]))
        form = spec.form(row)
        return form_action(
            form, lambda: spec.update(row, **spec.values(form), actor=actor()),
            lambda _saved: saved(message("saved", row), url_for(spec.index)),
        ) or page(form, row)

    def change(kind: str, service: Callable):
        def view(**ids):
            row = or_404(spec.load(ids[spec.id_arg]))
            return button_action(row, f"{spec.rules}.{kind}", service, message(f"{kind}d", row),
                                 url_for(spec.index))
        return view

    views = [
        (f"{spec.path}/new", "new", creates()(new), ["GET", "POST"]),
        (f"{item_path}/edit", "edit", edit, ["GET", "POST"]),
        (f"{item_path}/deactivate", "deactivate", change("deactivate", spec.deactivate), ["POST"]),
        (f"{item_path}/reactivate", "reactivate", change("reactivate", spec.reactivate), ["POST"]),
    ]
    for rule, name, view, methods in views:
        spec.bp.add_url_rule(rule, endpoint=name + spec.suffix,
                             view_func=login_required(manage(view)), methods=methods)
