"""The frontend kit has a message for every stable error code the gateway can send, and none for codes it cannot."""

from __future__ import annotations

from tests.error_codes import KIT_FALLBACK_CODES, gateway_error_codes, kit_messages


def test_every_gateway_error_code_has_a_message_in_the_frontend_kit() -> None:
    codes = gateway_error_codes()
    messages = kit_messages()

    assert {"internal_error", "invalid_state", "service_unavailable", "not_authenticated"} <= codes
    assert sorted(codes - messages.keys()) == []  # a new code needs a message in frontend/gateway.js
    assert sorted(messages.keys() - codes - KIT_FALLBACK_CODES) == []  # and no message outlives its code
    assert all(message.strip() for message in messages.values())
