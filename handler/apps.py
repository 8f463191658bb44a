from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class HandlerConfig(AppConfig):
    name = "handler"
    verbose_name = "Message handler and block data"

    def ready(self) -> None:
        if settings.PROVER_BACKEND == "bonsai":
            check_bonsai_profile(settings.COPROCESSOR_PROFILE)


def check_bonsai_profile(path: str) -> None:
    """Bonsai mode refuses to start without every program of its profile (docs/proofs.md, section 7)."""
    from handler.proofs.coprocessor.inputs import PROGRAMS
    from handler.proofs.coprocessor.profile import load_profile
    from handler.proofs.errors import ProofConfigurationError

    try:
        missing = [p for p in PROGRAMS if p not in load_profile(path).image_ids]
    except ProofConfigurationError as exc:
        raise ImproperlyConfigured(str(exc)) from None
    if missing:
        raise ImproperlyConfigured(
            f"COPROCESSOR_PROFILE has no image id for {', '.join(missing)}: Bonsai mode needs all eight programs"
        )
