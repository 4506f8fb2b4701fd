"""Real front-ends the security tests put before the embedded broker: TLS (stunnel) and SASL."""
