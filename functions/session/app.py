"""The frontend's data routes: GET /api/me, POST /auth/logout, GET /api/providers, and their CORS preflights."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from singpass_gateway import web
from singpass_gateway.errors import NotAuthenticated
from singpass_gateway.flows import gateway
from singpass_gateway.observability import logger, metrics, traced, within_time_limit
from singpass_gateway.settings import settings

GATEWAY = gateway()
SETTINGS = settings()


def me(request: web.Request) -> web.Response:
    try:
        refresh = request.query.get("refresh") == "true"
        session = GATEWAY.current_session(request.cookies.get(web.SESSION_COOKIE), refresh)
    except NotAuthenticated as error:
        stale = [web.expire_cookie(web.SESSION_COOKIE)] if web.SESSION_COOKIE in request.cookies else []
        return web.error_response(error, stale)
    body = {
        "provider": session.provider_id,
        "sub": session.sub,
        "person": session.person,
        "authentication": session.authentication,
    }
    if session.provenance:
        body["provenance"] = session.provenance
    body.update(session.organisation)  # entity, act, authorisations: only for a login on behalf of an entity
    if session.access:
        body["access"] = session.access  # scopes and permissions: only where the provider reports them
    return web.json_response(200, body)


def logout(request: web.Request) -> web.Response:
    GATEWAY.logout(request.cookies.get(web.SESSION_COOKIE))
    return web.no_content([web.expire_cookie(web.SESSION_COOKIE)])


def providers(request: web.Request) -> web.Response:
    return web.json_response(200, GATEWAY.provider_list())


ROUTES: dict[str, web.Handler] = {
    "GET /api/me": me,
    "POST /auth/logout": logout,
    "GET /api/providers": providers,
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced
@within_time_limit
def lambda_handler(event: dict[str, Any], context: Any) -> web.Response:
    return web.serve_api(web.Request.from_event(event), ROUTES, SETTINGS)
