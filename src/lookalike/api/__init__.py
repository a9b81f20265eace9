"""The REST API, versioned under ``/api/v1``: router (:mod:`.routes`), request and response models
(:mod:`.models`), the workspace on disk, users and keys, background jobs, and the service functions
the API and the web UI share (:mod:`.service`).

The app that serves the API and the web UI on one port is built by
:func:`lookalike.server.create_app` (above both, so neither imports the other's app).

>>> from lookalike.api import Settings
>>> Settings(home="/tmp/lk", session_secret="doc").workers >= 1
True
"""

from __future__ import annotations

from lookalike.config.settings import Settings

__all__ = ["Settings"]
