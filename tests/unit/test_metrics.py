"""Metrics: what a login publishes (CloudWatch EMF on stdout), that no dimension carries request text or personal
data, and that template.yaml's alarms and dashboard read the metrics exactly as the code publishes them."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start
from singpass_gateway import observability
from singpass_gateway.errors import InvalidReturnTo, UnknownProvider
from singpass_gateway.http import HttpResponse
from singpass_gateway.observability import NAMESPACE, SERVICE, metrics
from singpass_gateway.store import StoreUnavailable

from infra.sandbox.template import Resolver, load_template
from tests.unit.fakes import FakeHttp
from tests.unit.upstream import PUBLIC_URL, build

ROOT = Path(__file__).resolve().parents[2]
Metric = tuple[str, str, frozenset[str]]
"""(namespace, metric name, dimension names) as CloudWatch stores one metric of a document."""


def documents(output: str) -> list[dict[str, Any]]:
    """The EMF documents among stdout's lines."""
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def published(output: str) -> list[tuple[str, dict[str, str], float]]:
    """Each metric value published: its name, its most detailed dimensions and their values, and the value."""
    values = []
    for document in documents(output):
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        detailed = max(directive["Dimensions"], key=len)
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            for single in value if isinstance(value, list) else [value]:
                values.append((metric["Name"], {name: document[name] for name in detailed}, single))
    return values


def metric_set(output: str) -> set[Metric]:
    return {
        (directive["Namespace"], metric["Name"], frozenset(dimensions))
        for document in documents(output)
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        for dimensions in directive["Dimensions"]
    }


def attributing(http: FakeHttp) -> None:
    """Let the fake HTTP client measure its answers as the real one does, so attribution can be checked."""
    answer = http._answer

    def measured(method: str, url: str, call: Any, **request: Any) -> HttpResponse:
        response = answer(method, url, call, **request)
        observability.record_upstream_answer(call, 1.0, response.status)
        return response

    http._answer = measured  # type: ignore[method-assign]


# ------------------------------------------------------------------------------------------ what a login publishes


def test_a_successful_login_is_counted_by_provider_and_its_calls_by_provider_and_kind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = build("singpass")
    attributing(upstream.http)
    capsys.readouterr()

    outcome = upstream.login()

    assert outcome.error is None
    values = published(capsys.readouterr().out)
    logins = [(name, dimensions, value) for name, dimensions, value in values if name.startswith("Login")]
    assert logins == [
        ("LoginStarted", {"provider": "singpass", "service": SERVICE}, 1.0),
        ("LoginSucceeded", {"provider": "singpass", "service": SERVICE}, 1.0),
    ]
    calls = {dimensions["call"] for name, dimensions, _ in values if name == "UpstreamLatency"}
    assert calls == {"discovery", "par", "token", "jwks", "userinfo"}
    assert {dimensions["provider"] for name, dimensions, _ in values if name == "UpstreamLatency"} == {"singpass"}


def test_a_metric_that_cannot_be_published_never_fails_the_login(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a schema check failed")

    monkeypatch.setattr(observability.EphemeralMetrics, "add_metric", broken)
    upstream = build("sgid")
    capsys.readouterr()

    outcome = upstream.login()

    assert outcome.error is None  # the person is logged in all the same
    output = capsys.readouterr().out
    assert documents(output) == []
    assert "metric not published" in caplog.messages


def test_a_failed_login_is_counted_by_provider_and_stable_code_without_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = build("myinfo-v4")
    upstream.misbehave(callback={"error": "access_denied"})
    capsys.readouterr()

    outcome = upstream.login()

    assert outcome.error == "access_denied"
    output = capsys.readouterr().out
    assert published(output) == [
        ("LoginStarted", {"provider": "myinfo-v4", "service": SERVICE}, 1.0),
        ("LoginFailed", {"provider": "myinfo-v4", "error_code": "access_denied", "service": SERVICE}, 1.0),
    ]
    # Each document is published by its own dimensions and by service alone (the alarms' totals).
    for document in documents(output):
        assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1] == ["service"]


def test_a_failure_after_the_code_is_spent_names_its_code_and_no_token(capsys: pytest.CaptureFixture[str]) -> None:
    upstream = build("oidc")
    upstream.misbehave(id_token={"nonce": "someone else's"})
    capsys.readouterr()

    outcome = upstream.login()

    assert outcome.error == "invalid_token"
    output = capsys.readouterr().out
    assert ("LoginFailed", {"provider": "oidc", "error_code": "invalid_token", "service": SERVICE}, 1.0) in published(
        output
    )
    assert "eyJ" not in output  # no JWT, nor the code, the state or the subject
    assert upstream.subject not in output
    assert not [code for code in upstream.codes if code in output]


def test_a_provider_id_from_the_url_that_is_not_configured_is_counted_as_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = build("sgid")
    capsys.readouterr()

    for attempt in ("evil-provider-7f3a", "x" * 200):
        with pytest.raises(UnknownProvider):
            upstream.gateway.begin_login(attempt, "/", PUBLIC_URL)
        with pytest.raises(UnknownProvider):
            upstream.gateway.complete_login(attempt, {"state": "s", "code": "c"}, "binding")

    output = capsys.readouterr().out
    assert "evil-provider" not in output
    assert "xxxx" not in output
    # No login started, so none failed: the login route's 404 publishes nothing, the callback is rejected.
    assert [(name, dimensions) for name, dimensions, _ in published(output)] == 2 * [
        ("CallbackRejected", {"provider": "unknown", "error_code": "unknown_provider", "service": SERVICE})
    ]


def test_a_login_refused_before_it_starts_is_neither_started_nor_failed(capsys: pytest.CaptureFixture[str]) -> None:
    upstream = build("sgid")
    capsys.readouterr()

    with pytest.raises(InvalidReturnTo):
        upstream.gateway.begin_login("sgid", "https://evil.example/", PUBLIC_URL)

    assert published(capsys.readouterr().out) == []


def test_a_forged_replayed_or_expired_callback_is_rejected_not_a_failed_login(
    capsys: pytest.CaptureFixture[str],
) -> None:
    upstream = build("sgid")
    started = upstream.start()
    params = upstream.authorize(started.location)
    assert upstream.finish(params, started.binding).error is None
    late = upstream.start()
    late_params = upstream.authorize(late.location)
    upstream.now += 86_400  # a day later: long past any login's lifetime
    capsys.readouterr()

    callbacks = [
        (params, started.binding, "invalid_state"),  # replayed: the back button after a login
        ({**params, "state": "forged"}, started.binding, "invalid_state"),
        ({"code": "c"}, started.binding, "invalid_state"),  # no state
        (params, None, "invalid_state"),  # no login cookie
        (late_params, "another browser's", "invalid_state"),
        (late_params, late.binding, "login_expired"),
        (late_params, late.binding, "login_expired"),  # an expired login can be sent again and again
    ]
    for callback, binding, code in callbacks:
        outcome = upstream.finish(callback, binding)
        assert outcome.error == code
        assert outcome.location == f"https://app.example/?error={code}"

    assert [(name, dimensions["error_code"]) for name, dimensions, _ in published(capsys.readouterr().out)] == [
        ("CallbackRejected", code) for _, _, code in callbacks
    ]


def test_a_login_whose_callback_reached_a_failing_table_failed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The callback may have spent its transaction: its login can no longer succeed, so it counts as failed."""
    upstream = build("oidc")
    started = upstream.start()
    params = upstream.authorize(started.location)

    def failing(*args: object) -> None:
        raise StoreUnavailable("DynamoDB DeleteItem failed: ProvisionedThroughputExceededException")

    monkeypatch.setattr(upstream.store, "consume_transaction", failing)
    capsys.readouterr()

    assert upstream.finish(params, started.binding).error == "service_unavailable"
    assert published(capsys.readouterr().out) == [
        ("LoginFailed", {"provider": "oidc", "error_code": "service_unavailable", "service": SERVICE}, 1.0)
    ]


def test_junk_callbacks_never_push_failed_logins_past_started_ones(capsys: pytest.CaptureFixture[str]) -> None:
    """The login failure alarm's rate, LoginFailed / LoginStarted, stays a share of started logins."""
    upstream = build("singpass")
    capsys.readouterr()

    assert upstream.login().error is None
    assert upstream.login().error is None
    denied = upstream.start()
    params = upstream.authorize(denied.location)
    denial = {"state": params["state"], "error": "access_denied"}
    assert upstream.finish(denial, denied.binding).error == "access_denied"
    for attempt in range(10):  # junk: forged states, the denied login's callback replayed, no login cookie
        junk = [{**params, "state": f"forged-{attempt}"}, denial, {}][attempt % 3]
        assert upstream.finish(junk, denied.binding if attempt % 3 != 2 else None).error == "invalid_state"

    totals = Counter(name for name, _, _ in published(capsys.readouterr().out) if not name.startswith("Upstream"))
    assert totals == {"LoginStarted": 3, "LoginSucceeded": 2, "LoginFailed": 1, "CallbackRejected": 10}


# ------------------------------------------------------------------------------------- template.yaml reads them


def emitted_by_the_code(capsys: pytest.CaptureFixture[str]) -> set[Metric]:
    """Every metric the gateway publishes, with the dimension sets it publishes it under."""
    capsys.readouterr()
    observability.count_login_started("sgid")
    observability.count_login_succeeded("sgid")
    observability.count_login_failed("sgid", "access_denied")
    observability.count_callback_rejected("sgid", "invalid_state")
    with observability.calls_for("sgid"):
        observability.record_upstream_answer("token", 12.5, 503)
        observability.record_upstream_failure("userinfo")
    cold_start.reset_cold_start_flag()
    metrics.log_metrics(capture_cold_start_metric=True)(lambda event, context: None)({}, LambdaContext())
    return metric_set(capsys.readouterr().out)


class LambdaContext:
    function_name = "LoginFunction-physical"


def referenced_by_the_template() -> set[tuple[Metric, tuple[tuple[str, str], ...]]]:
    """The custom-namespace metrics the alarms and the dashboard read, with the dimension values they fix."""
    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    physical = {name: {"Ref": name, "Arn": f"arn:aws:cloudwatch:ap-southeast-1:1:alarm:{name}"} for name in resources}
    resolver = Resolver(template, {"FrontendUrl": "https://app.example.com"}, physical)
    found: set[tuple[Metric, tuple[tuple[str, str], ...]]] = set()

    def add(namespace: str, name: str, dimensions: dict[str, str]) -> None:
        found.add(((namespace, name, frozenset(dimensions)), tuple(sorted(dimensions.items()))))

    for resource in resources.values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resolver.resolve(resource["Properties"])
        stats = [query["MetricStat"]["Metric"] for query in properties.get("Metrics", []) if "MetricStat" in query]
        if "MetricName" in properties:
            stats.append(properties)
        for stat in stats:
            add(stat["Namespace"], stat["MetricName"], {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])})

    [dashboard] = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.loads(resolver.resolve(dashboard["Properties"]["DashboardBody"]))
    for widget in body["widgets"]:
        for entry in widget["properties"].get("metrics", []):
            if isinstance(entry[0], dict):  # a SEARCH: {namespace,dimension,...} MetricName="..."
                for schema, name in re.findall(r"\{([^}]*)\}\s+MetricName=\"(\w+)\"", entry[0]["expression"]):
                    namespace, *dimensions = [part.strip() for part in schema.split(",")]
                    found.add(((namespace, name, frozenset(dimensions)), ()))
            else:
                plain = [part for part in entry if isinstance(part, str)]
                add(plain[0], plain[1], dict(zip(plain[2::2], plain[3::2], strict=True)))
    return {reference for reference in found if reference[0][0] == NAMESPACE}


def test_the_alarms_and_the_dashboard_read_the_metrics_the_code_publishes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emitted = emitted_by_the_code(capsys)
    references = referenced_by_the_template()

    unknown = {metric for metric, _ in references} - emitted
    assert not unknown, f"template.yaml reads metrics the code never publishes: {unknown}"
    for _, fixed in references:
        assert dict(fixed).get("service", SERVICE) == SERVICE
    unseen = {name for _, name, _ in emitted} - {name for (_, name, _), _ in references}
    assert not unseen, f"metrics published but on no dashboard or alarm: {unseen}"


def test_every_function_is_watched_by_the_alarms_and_the_dashboard() -> None:
    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    handlers = {name for name, resource in resources.items() if resource["Type"] == "AWS::Serverless::Function"}
    resolver = Resolver(
        template, {"FrontendUrl": "https://app.example.com"}, {name: {"Ref": name, "Arn": name} for name in resources}
    )

    for alarm in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm"):
        queries = resolver.resolve(resources[alarm]["Properties"])["Metrics"]
        watched = {
            dimension["Value"] for query in queries[1:] for dimension in query["MetricStat"]["Metric"]["Dimensions"]
        }
        assert watched == handlers, alarm
        assert queries[0]["Expression"] == "SUM([" + ", ".join(query["Id"] for query in queries[1:]) + "])", alarm

    body = json.loads(resolver.resolve(resources["Dashboard"]["Properties"]["DashboardBody"]))
    lines = [line for widget in body["widgets"] for line in widget["properties"].get("metrics", [])]
    for metric in ("Duration", "Errors", "Throttles", "ColdStart"):
        charted = {
            line[3]
            for line in lines
            if isinstance(line[0], str) and line[1] == metric and line[2] in ("FunctionName", "function_name")
        }
        assert charted == handlers, metric
