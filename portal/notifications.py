"""E-mails to a partner's users: report decisions and reminders. Plain text, in French first.

Sent after the transaction commits, so a rolled-back change never announces itself.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


def partner_recipients(partner):
    """The addresses of the partner's active users, sorted, without duplicates."""
    return sorted(
        {
            email
            for email in partner.users.filter(is_active=True).values_list("email", flat=True)
            if email
        }
    )


def email_partner(partner, template, context, *, on_commit=True):
    """Render templates/emails/<template>.txt (first line: the subject) and send it to the
    partner's users. Returns the recipients (empty when the partner has no user with an e-mail)."""
    recipients = partner_recipients(partner)
    if not recipients:
        return []
    text = render_to_string(f"emails/{template}.txt", {"partner": partner, **context})
    subject, _, body = text.strip().partition("\n")

    def send():
        send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, recipients)

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
    return recipients
