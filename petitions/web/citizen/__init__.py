"""The citizen's pages: register, log in, file, look up, my petitions."""

# The views, registered on the blueprint as they are imported.
from petitions.web.citizen import routes  # noqa: F401
from petitions.web.citizen.blueprint import bp

__all__ = ["bp"]
