"""The optional HTTP server: /healthz, /metrics and the dashboard (see bot.web.server)."""
