"""Cases (issue 18): a citizen's request for an answer, a low rating or a comment an officer picked up,
which the counter's agency must answer within a service level, and the citizen can follow by a code.

This package owns: opening cases (from a submission, from a response by an officer), their codes and
due dates in working days, the handlers' actions (assign, answer, close, notes) and the citizen's
(follow, reopen once, rate the answer), the contact details kept apart from the answers (shown to the
agency's handlers only, every view audited, purged after a retention period), the transactional outbox
of notifications (e-mail over SMTP and a signed webhook per agency) and its worker, and the cases'
figures for the reports.

Blueprints and commands import from this package only; the modules below are its own.
"""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "AnswerRequest": "intake",
        "CaseError": "handling",
        "CaseFilter": "handling",
        "CASE_STATUSES": "handling",
        "assign_case": "handling",
        "bulk_assign": "handling",
        "case_by_code": "handling",
        "case_code_for_dossier": "intake",
        "case_code_for_nonce": "intake",
        "case_for_handler": "handling",
        "close_case": "handling",
        "handler_choices": "handling",
        "list_cases": "handling",
        "add_note": "handling",
        "answer_case": "handling",
        "normalise_code": "intake",
        "open_from_response": "intake",
        "rate_answer": "handling",
        "reopen_case": "handling",
        "public_view": "handling",
        "start_case": "handling",
        "view_contact": "handling",
        "agency_webhook": "outbox",
        "save_webhook": "outbox",
        "drain": "outbox",
        "queue_overdue": "outbox",
        "run_worker": "outbox",
        "purge_contacts": "purge",
        "agency_case_stats": "stats",
        "case_stats_for": "stats",
        "on_time_rates": "stats",
        "due_date": "sla",
    },
)
