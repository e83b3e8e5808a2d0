"""singpass-gateway: a serverless backend-for-frontend for Singpass, MyInfo and sgID logins.

Handlers in ``functions/`` call one use case of :mod:`singpass_gateway.flows`; everything protocol-specific
lives in :mod:`singpass_gateway.providers`, keys behind :mod:`singpass_gateway.keys`, storage in
:mod:`singpass_gateway.store` and token parsing in :mod:`singpass_gateway.jose`.
"""
