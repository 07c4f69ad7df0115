"""Invitations of a survey campaign (issue 19, items 5 and 6): what reaches the sampled dossiers'
holders and what became of it.

This package owns: the one-time invitation codes of sampled dossiers (sealed like receipt codes, looked
up by a keyed hash), the citizen's side of an invitation (opening it, answering once, declining), the
printable letters, the e-mails and SMS queued in the outbox (the SMS gateway adapter) and what their
delivery tells of each sample, the reminders, the enumerators' interviews of sampled dossiers, and the
tracking of outcomes per stratum with the AAPOR response rate RR1.

Blueprints and commands import from this package only; the modules below are its own.
"""

from app.services import lazy_exports

# name -> the module of this package that defines it (None: the module itself)
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "InvitationError": "codes",
        "invitation_code": "codes",
        "invitation_url": "codes",
        "read_invitation_code": "codes",
        "Invitation": "answering",
        "InvitationOutcome": "answering",
        "invitation_for": "answering",
        "open_invitation": "answering",
        "refuse_invitation": "answering",
        "submit_invitation": "answering",
        "letters_pdf": "letters",
        "TooManyLetters": "letters",
        "post_samples": "letters",
        "forget_campaign_messages": "sending",
        "queue_invitations": "sending",
        "queue_reminders": "sending",
        "record_delivery": "sending",
        "reminders_due": "sending",
        "send_sms": "sms",
        "StratumTracking": "tracking",
        "campaign_tracking": "tracking",
        "rr1": "tracking",
        "enumerator_samples": "interviews",
        "interview_sample": "interviews",
        "submit_interview": "interviews",
        "typed_answers": "interviews",
        "record_interview_refusal": "interviews",
        "INTERVIEW_MODES": "interviews",
        "campaign_by_code": "codes",
    },
)
