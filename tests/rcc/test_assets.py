"""Every page's stylesheet, script and images are served by the app, and no GDS Transport font
(licensed for GOV.UK only) is asked for."""

import re


def test_the_stylesheet_and_everything_it_refers_to_are_served(client):
    page = client.get("/sign-in").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert any(link.endswith(".css") for link in links) and any(link.endswith(".js") for link in links)
    for link in links:
        assert client.get(link).status_code == 200, link
    css = client.get("/static/govuk/govuk-frontend.min.css").get_data(as_text=True)
    assert "GDS Transport" not in css and "/fonts/" not in css
    for url in re.findall(r'url\("?([^")]+)"?\)', css):
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url
