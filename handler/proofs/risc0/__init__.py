"""RISC Zero primitives: serde, the receipt claim and its digest, the bincode receipt, the Groth16
seal check and the verifier parameters of every RISC Zero version. No Fossil or coprocessor format here."""
