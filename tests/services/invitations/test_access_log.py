"""An invitation code never reaches the access log (issue 19, like the receipt codes of issue 21)."""

from __future__ import annotations

from app.access_log import redact_path, redact_referer


def test_invitation_codes_are_redacted_from_paths_and_referers():
    code = "NKTkm48-ZCU3Ixhl.VQPu_hXIvsMVR_NqH_SQJzh3gqVFYaBB"
    assert redact_path(f"/i/{code}") == "/i/-"
    assert redact_path(f"/i/{code}/decline?x=1") == "/i/-/decline"
    assert redact_referer(f"https://khaosat.example.gov.vn/i/{code}?sent=1") == "/i/-"
    assert redact_path("/admin/interviews/3") == "/admin/interviews/3"
