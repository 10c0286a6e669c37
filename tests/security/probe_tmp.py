from urllib.parse import urlsplit
from flask import url_for
from tests.conftest import _empty_database
from tests.security import conftest as sc
from tests.security.conftest import ROLE_USERS
from tests.security.routes import endpoints, url_values

ROLES = ["anonymous", "buyer", "approver", "admin", "supplier_admin"]

def test_explore(app, sample):
    rows = []
    for endpoint, (rule, methods) in sorted(endpoints(app).items()):
        _empty_database(); sc._restore(sc._SNAPSHOT["rows"])
        method = "GET" if "GET" in methods else "POST"
        out = []
        for role in ROLES:
            email = ROLE_USERS.get(role)
            org = sample.org_key(email) if email else "acme"
            values = url_values(sample, endpoint, rule, org, email)
            with app.test_request_context():
                url = url_for(endpoint, **values)
            client = app.test_client()
            if email:
                sample.login(client, email)
            r = client.open(url, method=method)
            st = str(r.status_code)
            if r.status_code in (301, 302, 303):
                st = "LOGIN" if urlsplit(r.headers["Location"]).path == "/login" else "R"
            out.append(st)
        tag = "" if method == "GET" else "  # POST"
        rows.append(f'    "{endpoint}": row({", ".join(out)}),{tag}')
    open("/tmp/probe/rows.txt", "w").write("\n".join(rows))
