"""The HTTP API and map dashboard over the current snapshot.

``create_app(output_dir)`` builds the FastAPI app; ``serve(project)`` runs it.
"""

from popbase.api.app import create_app
from popbase.api.server import serve

__all__ = ["create_app", "serve"]
