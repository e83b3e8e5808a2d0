"""GET /auth/{provider}/callback: finish a login, create the session, and send the browser back."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from singpass_gateway import web
from singpass_gateway.flows import LoginFailed, gateway
from singpass_gateway.observability import logger, metrics, traced, within_time_limit

GATEWAY = gateway()


@web.guarded
def callback(request: web.Request) -> web.Response:
    spent_login_cookie = web.expire_cookie(web.LOGIN_COOKIE)
    try:
        done = GATEWAY.complete_login(
            request.path_params.get("provider", ""),
            request.query,
            request.cookies.get(web.LOGIN_COOKIE),
        )
    except LoginFailed as failure:
        return web.redirect(failure.location, [spent_login_cookie] if failure.consumed else [])
    session_cookie = web.set_cookie(web.SESSION_COOKIE, done.session_id, done.max_age)
    return web.redirect(done.location, [spent_login_cookie, session_cookie])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
@within_time_limit
def lambda_handler(event: dict[str, Any], context: Any) -> web.Response:
    return callback(web.Request.from_event(event))
