"""The API docs' sections (plain data: settings.SPECTACULAR_SETTINGS reads it before Django is set up)."""

# The docs' sections, in the order a reader needs them: what a client calls, the probes, then the
# service-to-service endpoints (SPECTACULAR_SETTINGS["TAGS"], order_paths_by_tag).
CLIENT_TAG, PROBES_TAG, INTERNAL_TAG = "pricing", "health", "internal"
TAGS = [
    {
        "name": CLIENT_TAG,
        "description": "For clients, with an API key (`X-API-Key`): submit a pricing request, follow it to its "
        "results and proofs, and fetch the keys that verify attested proofs.",
    },
    {"name": PROBES_TAG, "description": "Liveness and readiness probes for load balancers and orchestrators."},
    {
        "name": INTERNAL_TAG,
        "description": "Internal: calls between Fossil's own services (the offchain processor and the proving "
        "service), signed with their shared secret. Clients never call these; an API key is refused.",
    },
]
