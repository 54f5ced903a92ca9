"""The enqueue side (§9.3): HTTP API, callback receiver and operator dashboard.

    app.py        create_app(settings), run_api(settings); /v5/export*, /openapi.json
    receiver.py   Standard Webhooks verification, replay guard, recorded outcomes
    dashboard.py  /dashboard: counts, recent jobs, a job's logs/result/download, retry
    openapi.py    the OpenAPI 3.1 document
    problems.py   RFC 9457 errors, body size limit, bearer tokens
"""

from .app import create_app, run_api

__all__ = ["create_app", "run_api"]
