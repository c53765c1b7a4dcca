"""Page routers: every module here exposing ``router`` is mounted by :func:`dialer.api.server.create_app`."""
