"""E-mails to a partner's users: report decisions, reminders, invitations. Plain text, in French
first.

Sent after the transaction commits, so a rolled-back change never announces itself; an e-mail
that cannot be sent then (the SMTP server down or slow: EMAIL_TIMEOUT) is logged, and never turns
the change that was just saved into an error page.
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


def notify_extension(extension):
    """Tell the partners concerned that their deadline moved: the partner of a partner's own
    extension, or every partner expected in the period for a period-wide one."""
    from portal.models import Partner, Project

    period = extension.period
    if extension.partner_id:
        partners = [extension.partner]
    else:
        partners = Partner.objects.participating_in(Project.objects.in_progress_during(period))
    for partner in partners:
        email_partner(partner, "extension", {"extension": extension, "period": period})


def email_partner(partner, template, context, *, on_commit=True):
    """Render templates/emails/<template>.txt (first line: the subject) and send it to the
    partner's users. Returns the recipients (empty when the partner has no user with an e-mail)."""
    return email_people(
        partner_recipients(partner), template, {"partner": partner, **context}, on_commit=on_commit
    )


def email_people(recipients, template, context, *, on_commit=True):
    """Render templates/emails/<template>.txt (first line: the subject) and send it to
    `recipients`, once the transaction commits unless `on_commit` is False."""
    recipients = [address for address in recipients if address]
    if not recipients:
        return []
    text = render_to_string(f"emails/{template}.txt", context)
    subject, _, body = text.strip().partition("\n")

    def send():
        send_mail(subject.strip(), body.strip() + "\n", settings.DEFAULT_FROM_EMAIL, recipients)

    if on_commit:
        transaction.on_commit(send, robust=True)
    else:
        send()
    return recipients
