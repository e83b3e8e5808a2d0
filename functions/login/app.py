"""GET /auth/{provider}/login: start a login (a top-level navigation only) and redirect the browser to the provider."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from singpass_gateway import web
from singpass_gateway.errors import InvalidReturnTo
from singpass_gateway.flows import LoginFailed, gateway
from singpass_gateway.observability import logger, metrics, traced, within_time_limit

GATEWAY = gateway()


@web.guarded
def login(request: web.Request) -> web.Response:
    request.require_navigation()  # starting a login ends the held session: an <img> or a prefetch may not
    try:
        started = GATEWAY.begin_login(
            request.path_params.get("provider", ""),
            request.query_value("return_to", InvalidReturnTo),
            request.origin,
            request.cookies.get(web.SESSION_COOKIE),
        )
    except LoginFailed as failure:  # the provider refused to start (e.g. its PAR endpoint): back to the frontend
        return web.redirect(failure.location)
    return web.redirect(started.location, [web.set_cookie(web.LOGIN_COOKIE, started.binding, started.max_age)])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
@within_time_limit
def lambda_handler(event: dict[str, Any], context: Any) -> web.Response:
    return login(web.Request.from_event(event))
