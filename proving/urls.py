from django.urls import path

from proving.apis import JobCreateApi, JobGroupDetailApi, ProverKeyApi

urlpatterns = [
    path("prover_key", ProverKeyApi.as_view(), name="prover-key"),
    path("job", JobCreateApi.as_view(), name="job-create"),
    path("job/<str:job_group_id>", JobGroupDetailApi.as_view(), name="job-group-detail"),
]
