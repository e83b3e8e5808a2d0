"""GET /.well-known/jwks.json (every provider's) and /.well-known/jwks/{provider} (one provider's): the public
keys providers verify client assertions with and encrypt to."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from singpass_gateway import web
from singpass_gateway.flows import gateway
from singpass_gateway.observability import logger, metrics, traced, within_time_limit

GATEWAY = gateway()
MAX_AGE_SECONDS = 300
"""Short enough that a key published for rotation reaches providers quickly, long enough to absorb load."""


@web.guarded
def jwks(request: web.Request) -> web.Response:
    return web.public_json(GATEWAY.client_jwks(request.path_params.get("provider")), MAX_AGE_SECONDS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
@within_time_limit
def lambda_handler(event: dict[str, Any], context: Any) -> web.Response:
    return jwks(web.Request.from_event(event))
