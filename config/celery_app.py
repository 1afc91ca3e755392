import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("setia")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task=None, **_) -> None:
    """Keep database connections across tasks as Django keeps them across requests.

    Celery's Django fixup closes every connection before and after each task unless
    CELERY_DB_REUSE_MAX is set (settings.py sets it): opening a PostgreSQL connection costs a
    backend process fork and authentication, more than a whole small task. So connections are
    reused, and, as Django does at each request's start and end, dropped when unusable (after
    an error, a database restart) or older than CONN_MAX_AGE.

    Not for an eager task (no broker, and tests): it runs inside its caller, whose connection
    may be in the middle of a transaction that closing would break.
    """
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
