"""``[notifications]`` settings: validated, channels off until configured (E14)."""

from __future__ import annotations

import pydantic
import pytest

from dialer import settings as settings_mod
from dialer.notify import config, dispatcher

pytestmark = pytest.mark.req("E14")


def test_defaults_turn_email_and_sms_off_and_webhooks_on() -> None:
    defaults = config.NotificationSettings()
    senders = dispatcher.build_senders(defaults)
    try:
        assert senders.channels == ()
        assert senders.webhooks is not None
    finally:
        senders.close()


def test_configured_channels_get_senders() -> None:
    section = config.NotificationSettings.model_validate({
        "smtp": {"host": "mail.example.com", "from_address": "callbacks@example.com"},
        "sms": {"url": "https://api.twilio.com/", "account_sid": "AC1", "auth_token": "t0k3n",
                "from_number": "+15005550006"}})
    assert section.sms.url == "https://api.twilio.com"
    senders = dispatcher.build_senders(section)
    try:
        assert [c.value for c in senders.channels] == ["email", "sms"]
    finally:
        senders.close()


@pytest.mark.parametrize("values, key", [
    ({"smtp": {"host": "mail.example.com"}}, "smtp"),
    ({"smtp": {"password": "changeme"}}, "smtp.password"),
    ({"sms": {"url": "https://sms.example.com"}}, "sms"),
    ({"sms": {"url": "sms.example.com"}}, "sms.url"),
    ({"sms": {"auth_token": "CHANGEME"}}, "sms.auth_token"),
    ({"retry": {"max_attempts": 0}}, "retry.max_attempts"),
    ({"smtp": {"hots": "typo"}}, "smtp.hots"),
])
def test_invalid_values_are_refused_naming_the_key(values: dict, key: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        config.NotificationSettings.model_validate(values)
    locations = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert key in locations


def test_the_section_is_read_from_settings_before_and_after_wiring() -> None:
    assert config.settings_of(settings_mod.Settings()) == config.NotificationSettings()

    class Wired:
        notifications = config.NotificationSettings(batch_size=7)

    assert config.settings_of(Wired()).batch_size == 7
