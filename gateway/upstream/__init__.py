"""The way out to upstreams, shared by the forwarder and the health checker.

``addresses``: where upstreams may live (the SSRF guard, also used to validate what is
written); ``pool``: urllib3 connection pools that check the peer they actually reached.
Imports nothing from the rest of the gateway.
"""
