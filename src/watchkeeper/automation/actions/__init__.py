"""Security action providers: the protocol and its twin (``base``), the built-in blocklist."""
