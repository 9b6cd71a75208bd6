"""Wire shapes of the protocols this server speaks: result bodies and error bodies, one module each."""
