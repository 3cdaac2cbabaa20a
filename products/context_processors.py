from django.conf import settings


def store(request):
    """Shop-wide values every template may show."""
    return {
        "STORE_NAME": settings.STORE_NAME,
        "STORE_CURRENCY": settings.STORE_CURRENCY,
        "STORE_CONTACT_EMAIL": settings.STORE_CONTACT_EMAIL,
        "LOW_STOCK_THRESHOLD": settings.LOW_STOCK_THRESHOLD,
    }
