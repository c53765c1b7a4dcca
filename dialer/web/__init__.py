"""Server-rendered pages: the admin console, the live dashboard, the agent desktop and the
customer pages (Jinja2 templates, vendored htmx and Chart.js; no Node at build or run time)."""
