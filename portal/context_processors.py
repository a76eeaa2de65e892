"""Template context of every page: how many organisations the signed-in person belongs to."""

from django.utils.functional import SimpleLazyObject

from portal.models import Partner


def partners(request):
    """`user_partner_count`, queried only when a template asks (the portal's menu does)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_partner_count": 0}
    return {"user_partner_count": SimpleLazyObject(lambda: Partner.objects.for_user(user).count())}
