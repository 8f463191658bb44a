"""The Pitch Lake coprocessor's formats: its guests' input structs and journals, the composition
journal the Starknet verifier decodes, and the vault's calldata (docs/proofs.md)."""
