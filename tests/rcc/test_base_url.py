"""RCC_BASE_URL: the address every email link starts with; a value that is not a web address is refused
at start-up, naming the setting."""

from __future__ import annotations

import pytest

from rcc.config import ConfigurationError, load_config
from rcc.notifications import absolute_link


def test_the_base_url_is_checked_and_tidied(tmp_path, monkeypatch):
    monkeypatch.setenv("RCC_BASE_URL", "https://rcc.example.gov.uk/")
    config = load_config(str(tmp_path), {"RCC_ENV": "production", "SECRET_KEY": "s" * 40})
    assert config["RCC_BASE_URL"] == "https://rcc.example.gov.uk"
    monkeypatch.delenv("RCC_BASE_URL")
    assert load_config(str(tmp_path), {"RCC_ENV": "production", "SECRET_KEY": "s" * 40})["RCC_BASE_URL"] is None
    assert load_config(str(tmp_path), {"RCC_ENV": "development"})["RCC_BASE_URL"] == "http://localhost:5000"
    for bad in ("rcc.example.gov.uk", "javascript:alert(1)", "https://rcc.example.gov.uk/?next=x"):
        with pytest.raises(ConfigurationError, match="RCC_BASE_URL"):
            load_config(str(tmp_path), {"RCC_ENV": "development", "RCC_BASE_URL": bad})


def test_an_email_link_is_absolute_and_the_path_kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "RCC_BASE_URL", "https://rcc.example.gov.uk")
    with app.app_context():
        assert absolute_link("/offers-for-your-homes/3") == "https://rcc.example.gov.uk/offers-for-your-homes/3"
        assert absolute_link(None) is None
        monkeypatch.setitem(app.config, "RCC_BASE_URL", None)
        assert absolute_link("/offers-for-your-homes/3") is None  # no base: no half-made link in an email
