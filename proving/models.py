from __future__ import annotations

from django.db import models

METRICS = ("twap", "reserve_price", "max_return")


class JobGroup(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    class ReportsTo(models.TextChoices):
        # a caller of POST /api/job: told by the signed callback (proving.services.job_group_notify)
        CALLBACK = "callback"
        # the offchain request in this database: updated in the transaction that finishes the group
        OFFCHAIN = "offchain"

    id = models.CharField(max_length=66, primary_key=True, help_text="the offchain job_id")
    reports_to = models.CharField(max_length=16, choices=ReportsTo.choices, default=ReportsTo.CALLBACK)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    run = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True, help_text="composition output once completed")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # A notifier that is calling the offchain processor right now holds this claim; another
    # notifier waits until it lapses (see proving.services.job_group_notify).
    notify_claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        # the console lists groups newest first (proving/admin.py), read backwards from this index
        indexes = [models.Index(fields=["created_at", "id"], name="job_group_created")]

    def __str__(self) -> str:
        return f"group {self.id[:12]}… {self.status}"


class Job(models.Model):
    class Metric(models.TextChoices):
        TWAP = "twap"
        RESERVE_PRICE = "reserve_price"
        MAX_RETURN = "max_return"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    group = models.ForeignKey(JobGroup, on_delete=models.CASCADE, related_name="jobs")
    metric = models.CharField(max_length=16, choices=Metric.choices)
    start_timestamp = models.BigIntegerField()
    end_timestamp = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField()
    # Lease: the worker holding lease_token owns the job until lease_expires_at; a
    # completion that does not present the token is a stale duplicate and is dropped.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    # Identical computations share one result and proof, whoever asked (proving.jobs,
    # handler.compute.MetricInputs.computation_key): set when the job succeeds; `computed`
    # on the one job that ran it, `shared_from` on the jobs that took its result.
    computation_key = models.CharField(max_length=64, blank=True)
    computed = models.BooleanField(default=False)
    shared_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "metric"], name="job_one_per_metric_per_group"),
            models.CheckConstraint(
                condition=models.Q(start_timestamp__lt=models.F("end_timestamp")), name="job_range_ordered"
            ),
            # each computation is run and proved once (its key also finds it for sharing)
            models.UniqueConstraint(
                fields=["computation_key"], condition=models.Q(computed=True), name="job_one_computation_per_key"
            ),
        ]
        indexes = [
            # unfinished jobs, used by the reconciler's scans
            models.Index(fields=["status", "lease_expires_at"], name="job_status_lease"),
            # the console's newest-first list (proving/admin.py)
            models.Index(fields=["created_at", "id"], name="job_created"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} {self.metric} {self.status}"


class Proof(models.Model):
    """The proof of one job. One per job: a duplicate delivery can never store a second."""

    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="proof")
    kind = models.CharField(max_length=16)
    image_id = models.CharField(max_length=66)
    claim_digest = models.CharField(max_length=66)
    journal = models.BinaryField()
    record = models.JSONField(help_text="the proof record as the status endpoint returns it")
    starknet = models.JSONField(
        null=True,
        blank=True,
        help_text=(
            "computed when stored: {calldata: [hex felts]} for the on-chain verifier, or {error: {code, message}}"
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["created_at", "id"], name="proof_created")]  # the console's list

    def __str__(self) -> str:
        return f"{self.kind} proof of job {self.job_id}"
