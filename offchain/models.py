from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    """A client key. Only its SHA-256 is stored; the prefix identifies it in logs and admin."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PricingRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "Pending"
        COMPLETED = "Completed"
        FAILED = "Failed"

    job_id = models.CharField(max_length=66, primary_key=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    identifiers = models.JSONField()
    params = models.JSONField(help_text="metric -> [start, end] as the client sent them")
    client_info = models.JSONField()
    # Bumped each time a failed request is run again, so late news from an earlier run is ignored.
    run = models.PositiveIntegerField(default=1)
    forwarded_at = models.DateTimeField(null=True, blank=True)
    # The reconciler's memory (offchain.services.pricing_requests_reconcile): when it looks at
    # this pending request next, and how often it has looked (its backoff) this run.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="the whole reason, for operators only")
    # What the client is told (offchain/errors.py): a stable code and a plain message.
    error_code = models.CharField(max_length=64, blank=True)
    client_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the reconciler's overdue pending requests, oldest due first
            models.Index(fields=["status", "next_poll_at"], name="pricing_req_status_poll"),
            # the console's newest-first list (offchain/admin.py)
            models.Index(fields=["created_at", "job_id"], name="pricing_req_created"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id[:12]}… {self.status}"


class ServiceNonce(models.Model):
    """The nonce of an accepted service signature, kept while that signature could still pass
    the time-window check, so the same signature is refused the second time (offchain.nonces)."""

    nonce = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"nonce {self.nonce[:8]}… until {self.expires_at:%H:%M:%S}"


class RateLimitHit(models.Model):
    """One accepted API call of a key in a rate-limit scope (offchain.throttling): the sliding
    log the limit is counted on. Rows leave once they are older than the longest period."""

    key = models.CharField(max_length=100, help_text="<scope>:key:<api key id>")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["key", "at"], name="rate_hit_key_at"),
            models.Index(fields=["at"], name="rate_hit_at"),  # the pruning of old rows
        ]

    def __str__(self) -> str:
        return f"{self.key} at {self.at:%H:%M:%S}"
