from django.urls import path

from offchain.apis import JobGroupFinishedCallbackApi, JobStatusApi, PricingDataApi

urlpatterns = [
    path("pricing_data", PricingDataApi.as_view(), name="pricing-data"),
    path("job_status/<str:job_id>", JobStatusApi.as_view(), name="job-status"),
    path("internal/job_groups/<str:job_id>/finished", JobGroupFinishedCallbackApi.as_view(), name="job-group-finished"),
]
