"""Settings and the infrastructure every app shares.

The Celery app is not imported here (the usual Django + Celery recipe does), so that a
command such as `manage.py price` starts without Celery: task modules register on
celery_app.app themselves, and fossil.queues loads it when something is published.
"""
