"""Every service's RPC parameters as TypedDicts, generated: see
shared/contracts/typed_params.py."""
