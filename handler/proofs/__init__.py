"""Proof side of the Fossil handler.

Pure package: nothing here imports Django except ``django_glue``. See the
module docstrings for the contract of each piece:

* ``records``   ProofInputs / ProofRecord (the JSON the status endpoint serves)
* ``journal``   RISC Zero serde, the per-job journal and the 16-field composition journal
* ``claim``     ReceiptClaim and the tagged-SHA-256 claim digest
* ``receipt``   bincode ``Receipt`` parser/encoder and the Groth16 receipt checks
* ``bonsai``    Bonsai/Bento REST client
* ``providers`` dev, attested and Bonsai proof providers, ``build_provider``
* ``keys``      Ed25519 key: load from configuration, explicit creation, key id
* ``verify``    ``verify_record`` (used before storing and by ``manage.py verify_receipt``)
* ``groth16``   BN254 Groth16 seal check for every RISC Zero verifier version (``risc0_params``)
* ``guests``    the Pitch Lake coprocessor's guest input structs and journals
* ``starknet``  vault 9-felt result, job request triple, garaga calldata (optional extra)
* ``programs``  image ids of the dev/attested "programs" (sha256 of a documented tag)
* ``checks``    pricing checks the attested provider runs before signing
* ``errors``    typed errors (``code``, ``retryable``)
* ``django_glue`` settings → ``get_provider()``, ``verify_before_store``, the published key
"""
