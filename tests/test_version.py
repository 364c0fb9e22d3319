"""One version, written once in gateway/__init__.py, shown everywhere; the licence and changelog beside it."""

from __future__ import annotations

import re
import tomllib

from flask import render_template_string

from gateway import __version__
from tests.support.servers import ROOT


def test_the_version_is_written_once_and_pyproject_reads_it():
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gateway.__version__"}
    assert re.findall(r"^__version__ = ", (ROOT / "gateway" / "__init__.py").read_text(), re.M) == ["__version__ = "]


def test_both_health_endpoints_and_the_openapi_document_show_it(client):
    assert client.get("/health").get_json()["version"] == __version__
    assert client.get("/api/v1/gateway/health").get_json()["version"] == __version__
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["info"]["version"] == __version__
    assert "version" in document["components"]["schemas"]["AggregateHealth"]["properties"]


def test_the_dashboards_templates_have_it_as_a_global(app):
    with app.test_request_context("/dashboard"):
        assert render_template_string("v{{ gateway_version }}") == f"v{__version__}"


def test_the_changelog_has_a_section_for_it_and_the_licence_is_apache_2():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{__version__}] - " in changelog
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
