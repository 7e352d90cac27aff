"""solver: run population density simulations from mesh artifacts."""
