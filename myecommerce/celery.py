"""The Celery app: `celery -A myecommerce worker -Q mail,celery`.

Configured from Django's settings (every `CELERY_*` setting, see the "Task queue" section of
settings.py). Without CELERY_BROKER_URL tasks run eagerly in the calling process, so a
single-machine shop needs no broker and no worker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myecommerce.settings")

app = Celery("myecommerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py (the e-mail outbox's in mailer.tasks).
app.autodiscover_tasks()
