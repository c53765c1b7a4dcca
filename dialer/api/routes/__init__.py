"""API routers: every module here exposing ``router`` is mounted under ``/api`` by
:func:`dialer.api.server.create_app`."""
