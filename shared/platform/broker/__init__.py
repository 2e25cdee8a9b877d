"""The broker as a door: accounts and permissions (accounts), the checks every message
passes before a service handles it (guard), direct reply-to RPC for callers (client),
and TLS for every connection (tls)."""
