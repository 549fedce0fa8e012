"""Payment channels: WeChat Pay v3, Alipay, UnionPay and medical-insurance mobile payment, each an
adapter with a real client and a sandbox; ``get_channel(name, session)`` gives the configured one."""
