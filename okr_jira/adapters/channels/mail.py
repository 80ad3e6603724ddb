"""E-mail over SMTP with the standard library: multipart text + HTML.

Traps handled: `smtplib.SMTP(host, port)` connects in its constructor, so the timeout goes there;
STARTTLS and implicit TLS verify the server with `ssl.create_default_context()` (smtplib's default
verifies nothing); a server that does not offer STARTTLS is refused, never used in clear; a login
is never sent without TLS; `send_message` raises only when every recipient is refused and returns
the refused ones otherwise (reported, not lost); 4xx SMTP replies are temporary, 5xx permanent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from okr_jira.adapters.channels.base import TransportError


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None  # a secret
    security: Literal["starttls", "tls", "none"] = "starttls"
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r})"


class SmtpMailer:
    kind = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def notify(self, payload: dict[str, Any]) -> None:
        message = build_message(self.config.sender, payload)
        try:
            with self._connect() as smtp:
                if self.config.user and self.config.password:
                    smtp.login(self.config.user, self.config.password)
                refused = smtp.send_message(message)
        except TransportError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(
                f"SMTP server refused the login of OKR_JIRA_SMTP_USER ({exc.smtp_code})",
                permanent=True,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(
                f"SMTP server refused every recipient: {', '.join(sorted(exc.recipients))}",
                permanent=True,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise TransportError(
                f"{self.config.host} does not offer STARTTLS; set OKR_JIRA_SMTP_SECURITY=tls "
                "(port 465) or none for a local relay",
                permanent=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            raw = exc.smtp_error
            reply = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))[:120]
            raise TransportError(
                f"SMTP server answered {exc.smtp_code} {reply}".strip(),
                permanent=exc.smtp_code >= 500,
                status=exc.smtp_code,
            ) from None
        except ssl.SSLError as exc:
            raise TransportError(
                f"TLS with {self.config.host} failed ({exc.reason or type(exc).__name__})",
                permanent=True,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timeout, disconnected
            raise TransportError(
                f"SMTP {self.config.host}:{self.config.port} unreachable ({type(exc).__name__})",
                permanent=False,
            ) from None
        if refused:
            raise TransportError(
                f"delivered, but the SMTP server refused: {', '.join(sorted(refused))}",
                permanent=True,
                delivered=True,
            )

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        context = ssl.create_default_context()
        if c.security == "tls":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout, local_hostname=_hostname())
        try:
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=context)  # raises SMTPNotSupportedError when not offered
                smtp.ehlo()
            elif c.user and c.password:
                raise TransportError(
                    "refusing to send the SMTP password without TLS", permanent=True
                )
        except BaseException:
            smtp.close()
            raise
        return smtp


def build_message(sender: str, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = sender
    message["To"] = ", ".join(payload["to"])
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or None)
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    return message


def _hostname() -> str:
    try:
        return socket.getfqdn() or "localhost"
    except OSError:
        return "localhost"
