"""Accounts, sessions, SMS codes, WeChat/Alipay sign-in, roles and permissions."""
