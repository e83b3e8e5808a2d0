"""GET /api/openapi.json: the HTTP contract as an OpenAPI 3.1 document, built from the code (contract.py)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from singpass_gateway import contract, web
from singpass_gateway.observability import logger, metrics, traced, within_time_limit

MAX_AGE_SECONDS = 300
"""The document changes only with a deployment; as short as the JWKS's so that a new one is seen soon after."""


@web.guarded
def openapi(request: web.Request) -> web.Response:
    return web.public_json(contract.document(), MAX_AGE_SECONDS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
@within_time_limit
def lambda_handler(event: dict[str, Any], context: Any) -> web.Response:
    return openapi(web.Request.from_event(event))
