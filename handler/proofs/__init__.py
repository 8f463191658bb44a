"""Proof side of the Fossil handler.

Pure package: nothing here imports Django except ``django_glue``. Three sub-packages and the
pieces that tie them together (each module's docstring states its contract):

* ``risc0/``        RISC Zero primitives: ``serde``, ``claim`` (ReceiptClaim and its digest),
                    ``receipt`` (bincode receipts, Groth16 receipt checks), ``groth16`` (the BN254
                    seal check) and ``params`` (verifier parameters of every RISC Zero version)
* ``coprocessor/``  the Pitch Lake coprocessor's formats: ``guests`` (input structs and journals),
                    ``journals`` (the composition output the Starknet verifier decodes),
                    ``starknet`` (the vault's felts, the job request, garaga calldata)
* ``providers/``    dev, attested and Bonsai proof providers, ``build_provider``, and the
                    Bonsai/Bento REST client (``bonsai_client``)
* ``records``       ProofInputs / ProofRecord (the JSON the status endpoint serves)
* ``journal``       Fossil's per-job ``MetricJournal`` and the fixed-point encoding journals share
* ``programs``      image ids of the dev/attested programs, and which journal each program commits
* ``keys``          Ed25519 key: load from configuration, explicit creation, key id
* ``verify``        ``verify_record`` (used before storing and by ``manage.py verify_receipt``)
* ``checks``        pricing checks the attested provider runs before signing
* ``errors``        typed errors (``code``, ``retryable``)
* ``django_glue``   settings → ``get_provider()``, ``verify_before_store``, the published key
"""
