"""Field mappings shared by parsers: how a source format's fields become table columns."""
