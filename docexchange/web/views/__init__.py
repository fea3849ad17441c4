"""Page blueprints: every module here that defines ``bp`` is registered by ``register_web`` (and its ``NAV``
entries join the navigation)."""
