from unittest import mock

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_503_with_the_error_shape_when_the_database_does_not(client):
    with mock.patch("loyalty.core.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "database_unavailable", "message": "The database does not answer."}
    }


def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405
