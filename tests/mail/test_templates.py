"""Templates: the code sits in the bodies only; user text is escaped in HTML."""

import pytest

from galaxy_backend.mail.templates import MAX_SUBJECT_LENGTH, notification, sign_in_code


def test_sign_in_code_is_in_both_bodies_and_not_in_the_subject() -> None:
    mail = sign_in_code("493817", ttl_minutes=10)
    assert "493817" in mail.text
    assert "493817" in mail.html
    assert "493817" not in mail.subject
    assert "10 minutes" in mail.text
    assert "10 minutes" in mail.html


def test_sign_in_code_needs_a_positive_lifetime() -> None:
    with pytest.raises(ValueError, match="ttl_minutes"):
        sign_in_code("123456", ttl_minutes=0)


def test_notification_escapes_user_text_in_html_and_keeps_it_in_text() -> None:
    mail = notification("<b>Fleet</b> & co", 'Attack at <script>alert("x")</script>\n\nOver.')
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in mail.html
    assert "&lt;b&gt;Fleet&lt;/b&gt; &amp; co" in mail.html
    assert '<script>alert("x")</script>' in mail.text
    assert mail.subject == "<b>Fleet</b> & co"
    assert mail.html.count("<p>") >= 2


def test_notification_subject_is_one_bounded_line() -> None:
    mail = notification("Line one\r\nBcc: victim@example.org\n" + "x" * 500, "body")
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject
    assert len(mail.subject) <= MAX_SUBJECT_LENGTH
    assert notification("   ", "body").subject == "Galaxy notification"
