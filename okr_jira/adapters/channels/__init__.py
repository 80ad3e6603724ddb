"""Notification channels as transports: one small class per service with one `notify()`.

Each raises `TransportError` saying whether the failure is permanent (stop sending to the channel
and show why) or worth another try later. Webhook URLs are secrets: no message, log line or
error names them (the channel is named by the environment variable that holds its URL).
"""

from okr_jira.adapters.channels.base import Transport, TransportError, fingerprint
from okr_jira.adapters.channels.mail import SmtpConfig, SmtpMailer
from okr_jira.adapters.channels.msteams import TeamsWebhook
from okr_jira.adapters.channels.slack import SlackWebhook

__all__ = [
    "SlackWebhook",
    "SmtpConfig",
    "SmtpMailer",
    "TeamsWebhook",
    "Transport",
    "TransportError",
    "fingerprint",
]
