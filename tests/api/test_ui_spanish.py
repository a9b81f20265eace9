"""Errors and playbooks in the UI in the reader's language (issue 18, item 1): an error with a code is
said from the catalogue, the English message never shown to a Spanish reader."""

from __future__ import annotations

from .service import browser, ui_login


def test_a_missing_audience_is_said_in_spanish(service):
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        c.get("/lang/es")
        r = c.get("/audiences/no-such-audience")
        assert r.status_code == 404
        assert "No hay ninguna audiencia llamada no-such-audience" in r.text
        assert "does not exist" not in r.text
        c.get("/lang/en")
        assert "There is no audience called no-such-audience" in c.get("/audiences/no-such-audience").text


def test_playbooks_page_in_spanish_says_the_catalogues_titles(service):
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        c.get("/lang/es")
        page = c.get("/playbooks").text
        assert "Subir el ticket: clientes que se parecen a los mejores compradores de su categoría" in page
        assert "Recuperar clientes perdidos con perfil de VIP" in page
        assert "Win back lapsed customers" not in page
