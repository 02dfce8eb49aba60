"""Scripts that (re)generate small data files committed alongside the model."""
