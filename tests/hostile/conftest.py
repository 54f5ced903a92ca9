"""The API's fixtures (the app's settings, ``pacai-export api`` as a process) for the
hostile catalogues."""

from tests.api.conftest import api_settings, start_api

__all__ = ["api_settings", "start_api"]
