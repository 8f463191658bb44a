"""OpenAPI pieces shared by the APIs: the error shape, the output shapes both services return
(a metric's result, a proof record) and the two authentication schemes.

Response bodies are built by these serializers (``Serializer(data).data``), the same ones the
schema shows, so a field the schema does not list never reaches a client.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from fossil.api_tags import TAGS
from fossil.exceptions import ErrorSerializer

METRIC_CHOICES = ["twap", "reserve_price", "max_return"]


class LognormalParamsSerializer(serializers.Serializer):
    sigma_step = serializers.FloatField(help_text="log volatility per bucket")
    volatility_lag = serializers.IntegerField(help_text="buckets over which the dispersion is measured (the horizon)")
    start_level = serializers.FloatField(help_text="where the simulated walk starts: the strike (wei)")
    # not required: results stored before the horizon-dispersion estimator do not carry them
    horizon_variance = serializers.FloatField(
        required=False,
        help_text="mean square log change of the averaging window over the horizon, as measured on the range",
    )
    volatility_floored = serializers.BooleanField(
        required=False, help_text="the range moved less than the volatility floor and the floor priced it"
    )


# A serializer's docstring is its description in the API docs: written for the client.
class MetricResultSerializer(serializers.Serializer):  # built by handler.metrics.compute_metric
    """One metric's result: its value, how the block data was bucketed, and the commitment to that data."""

    metric = serializers.ChoiceField(choices=METRIC_CHOICES)
    value = serializers.CharField(
        help_text="the value as a decimal string (the shortest one that reads back as the same 64-bit float)"
    )
    felt = serializers.CharField(help_text="the value as 64.64 fixed point, 0x + 64 hex")
    bucket_seconds = serializers.IntegerField()
    points = serializers.IntegerField(help_text="number of buckets in the series")
    first_bucket = serializers.IntegerField()
    last_bucket = serializers.IntegerField()
    data_commitment = serializers.ListField(child=serializers.IntegerField(), help_text="8 words of 32 bits")
    # max_return
    window = serializers.IntegerField(required=False)
    period = serializers.IntegerField(required=False)
    # reserve_price
    standard_error = serializers.FloatField(required=False)
    seed = serializers.IntegerField(required=False, allow_null=True)
    num_paths = serializers.IntegerField(required=False)
    n_periods = serializers.IntegerField(required=False)
    twap_window = serializers.IntegerField(required=False)
    strike = serializers.FloatField(required=False)
    params = serializers.DictField(child=serializers.FloatField(), required=False, help_text="fitted MRJ parameters")
    gradient = serializers.ListField(child=serializers.FloatField(), required=False)
    gradient_ok = serializers.BooleanField(required=False, help_text="the fitted jump model passed the gradient check")
    model = serializers.ChoiceField(
        choices=["mrj", "lognormal"],
        required=False,
        help_text="the model that priced the reserve price (docs/pricing.md)",
    )
    model_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="why the jump model did not price it; empty for mrj"
    )
    lognormal = LognormalParamsSerializer(required=False, help_text="the log-normal walk's inputs, when it priced")
    rules = serializers.CharField(
        required=False,
        help_text="what priced it: 'engine', or 'pitchlake-coprocessor:<profile>' for a vault round (docs/proofs.md)",
    )
    # a vault round's reserve price
    shape = serializers.DictField(required=False, help_text="the profile's round shape and tolerances")
    claim_paths = serializers.IntegerField(required=False, help_text="paths the claimed reserve price is the mean of")
    pass_probability = serializers.FloatField(
        required=False, help_text="probability that the simulate program accepts the claim at num_paths"
    )
    path_sd = serializers.FloatField(required=False, help_text="standard deviation of one path's discounted payoff")


class ProofRecordSerializer(serializers.Serializer):  # handler.proofs.records.ProofRecord.to_json
    """A proof over a metric's journal: a Groth16 receipt, an attestation signed with the prover key, or a
    development record that proves nothing. Byte strings are 0x hex."""

    version = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["dev", "attested", "groth16"])
    image_id = serializers.CharField()
    journal = serializers.CharField()
    claim_digest = serializers.CharField()
    seal = serializers.CharField(allow_null=True)
    selector = serializers.CharField(allow_null=True)
    receipt = serializers.CharField(allow_null=True)
    stats = serializers.DictField()
    public_key = serializers.CharField(allow_null=True)
    signature = serializers.CharField(allow_null=True)
    # records stored before key ids existed have none: they read as null
    key_id = serializers.CharField(
        allow_null=True, help_text="attested records: the signing key's id (/api/prover_key)"
    )


class CalldataErrorSerializer(serializers.Serializer):
    """Why no Starknet calldata could be built for a proof."""

    code = serializers.CharField()
    message = serializers.CharField()


class StarknetCalldataSerializer(serializers.Serializer):  # Proof.starknet (coprocessor.starknet.proof_calldata)
    """The calldata that verifies this proof on Starknet, or why there is none: exactly one of the two keys."""

    calldata = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="garaga's verify_r0_groth16_proof_bn254 calldata"
    )
    error = CalldataErrorSerializer(required=False)


STARKNET_CALLDATA_HELP = "computed when the proof was stored; null for attested and dev proofs"


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "invalid request; the message names the field",
        401: "missing, unknown or revoked API key",
        404: "not found",
        409: "conflict",
        413: "request body too large",
        429: "rate limit exceeded for this API key",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    target_class = "offchain.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class ServiceSignatureSchemeExtension(OpenApiAuthenticationExtension):
    target_class = "offchain.permissions.ServiceSignatureAuthentication"
    name = "ServiceSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Fossil-Signature",
            "description": "t=<unix>,n=<nonce>,v2=<hex HMAC-SHA256 of method, path, t, nonce and body hash> "
            "with the shared service secret (docs/security.md)",
        }


def order_paths_by_tag(result, generator, request, public):
    """Postprocessing hook: paths in the order of TAGS (client endpoints first), whatever the URL order."""
    rank = {tag["name"]: index for index, tag in enumerate(TAGS)}

    def path_rank(item):
        operations = [op for op in item[1].values() if isinstance(op, dict)]
        return min((rank.get(tag, len(rank)) for op in operations for tag in op.get("tags", [])), default=len(rank))

    result["paths"] = dict(sorted(result.get("paths", {}).items(), key=path_rank))
    return result


def forbid_unknown_request_fields(result, generator, request, public):
    """Postprocessing hook: request bodies reject unknown fields (StrictSerializer), say so."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
