"""A local stand-in for API Gateway HTTP API + Lambda, driven by the real SAM template."""
