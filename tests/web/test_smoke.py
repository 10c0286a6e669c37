from tests.conftest import login


def test_dashboard_needs_sign_in(client, world):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_each_demo_account_sees_its_dashboard(client, world):
    for email, user in world.users.items():
        login(client, user)
        response = client.get("/")
        assert response.status_code == 200, email
        assert user.organization.name in response.text
