"""Podium keeps no IP addresses, not even in its access log."""

from server.__main__ import ACCESS_LOG_FORMAT


def test_access_log_format_records_no_client_address():
    for directive in ("%a", "X-Forwarded-For", "X-Real-IP"):
        assert directive not in ACCESS_LOG_FORMAT
    assert "%r" in ACCESS_LOG_FORMAT and "%s" in ACCESS_LOG_FORMAT  # still useful to operators
