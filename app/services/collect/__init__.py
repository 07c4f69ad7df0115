"""The citizen path: a counter as a post sees it, a response's validation and storage, receipt codes,
abuse flags, and the warm-up of a worker process before it serves citizens.

Blueprints and commands import from this package only; the modules below are its own."""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "client_hash": "abuse",
        "Counter": "counter",
        "counter_by_id": "counter",
        "ClientHistory": "abuse",
        "ClientVisit": "abuse",
        "dossier_rated": "receipts",
        "find_counter": "counter",
        "find_posting_counter": "counter",
        "issue_receipt_code": "receipts",
        "latest_published_version": "submit",
        "Named": "counter",
        "new_nonce": "submit",
        "Outcome": "submit",
        "published_version_for": "submit",
        "purge_salts": "abuse",
        "PublishedVersion": "submit",
        "quick_rating_on": "quick",
        "read_receipt_code": "receipts",
        "Receipt": "receipts",
        "ReceiptError": "receipts",
        "response_stored": "submit",
        "shown_version": "submit",
        "Submission": "submit",
        "submission_time": "submit",
        "submit_response": "submit",
        "warm_process": "warmup",
    },
)
