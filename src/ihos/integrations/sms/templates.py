"""The SMS templates ihos sends (短信模板): their texts, parameters and the hospital's signature.

The one place the texts live. With Aliyun every template must be registered in the console with
exactly this text (without the signature, which Aliyun adds); ``IHOS_INTEGRATIONS__SMS__ALIYUN__
TEMPLATE_CODES`` maps each name to the code Aliyun assigns.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

from ihos.integrations.sms.base import SmsError

# The signature (签名) as registered with the gateway; carriers show it in 【】 before the text.
SIGN_NAME = "ihos互联网医院"

# Verification messages are limited per number more strictly than notices (carrier flow control).
Category = Literal["verification", "notice"]


@dataclass(frozen=True)
class SmsTemplate:
    name: str
    text: str
    category: Category

    @property
    def params(self) -> frozenset[str]:
        return frozenset(field for _, field, _, _ in string.Formatter().parse(self.text) if field)


TEMPLATES: dict[str, SmsTemplate] = {
    template.name: template
    for template in (
        SmsTemplate("verification_code", "您的验证码为{code}，5分钟内有效，请勿泄露给他人。", "verification"),
        SmsTemplate(
            "temporary_password",
            "您的临时密码为{password}，请登录后立即修改密码，请勿泄露给他人。",
            "verification",
        ),
        SmsTemplate("notice", "{text}", "notice"),
    )
}

# Gateways cap the length of each variable; one generous cap here stops a runaway value early.
MAX_PARAM_LENGTH = 200


def get_template(name: str) -> SmsTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise SmsError("isv.SMS_TEMPLATE_ILLEGAL", "短信模板不存在", retryable=False) from None


def check_params(template: SmsTemplate, params: dict[str, str]) -> None:
    """Refuse missing, unknown or oversized parameters, as the gateway would."""
    if set(params) != template.params:
        raise SmsError("isv.TEMPLATE_MISSING_PARAMETERS", "短信模板参数不匹配", retryable=False)
    if any(not isinstance(value, str) or len(value) > MAX_PARAM_LENGTH for value in params.values()):
        raise SmsError("isv.PARAM_LENGTH_LIMIT", "短信模板参数超出长度限制", retryable=False)


def render(name: str, params: dict[str, str], *, sign_name: str = SIGN_NAME) -> str:
    """The text as the recipient's phone shows it: 【signature】text."""
    template = get_template(name)
    check_params(template, params)
    return f"【{sign_name}】" + template.text.format(**params)
