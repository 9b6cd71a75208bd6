"""HTTP routes, one module per resource family; each only translates HTTP to the workspace."""
