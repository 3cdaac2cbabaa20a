from django.template.loader import render_to_string


def test_500_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "Traceback" not in html
