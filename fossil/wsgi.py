import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fossil.settings")
application = get_wsgi_application()

# The web process publishes tasks: load the Celery app at start-up, not on the first request.
import celery_app  # noqa: E402,F401
