"""The operator dashboard: ``/dashboard`` (queue counts, recent jobs with live progress) and
``/dashboard/jobs/{id}`` (state, logs, result, download link, retry of a failed job).

Server-rendered HTML, a stylesheet and one small script (``/dashboard/app.js``) that redraws
the pages from their JSON twins (``/dashboard/api/jobs[/{id}]``) with ``textContent`` only:
``/dashboard/static/live.js`` (``events.py``) keeps them current from a server-sent event
stream, and app.js polls every 1.5 s only where that cannot run. ``preview.js``
(``preview.py``) adds a completed job's 3D preview.

Every value from a job is escaped on the server (``html.escape``) and never parsed as HTML by
the scripts: job data is user input. The pages forbid inline script
(Content-Security-Policy), and only http(s) download URLs become links.

Auth is the API's bearer token. A browser signs in with the login form (from the same
origin; wrong tokens are throttled per address), which sets an HttpOnly, SameSite=Strict
cookie scoped to ``/dashboard`` holding a session value derived from the token, never the
token itself (``sessions``). No token is ever accepted in a URL. A cookie-authenticated POST
(retry) must also carry the script's ``x-pacai-dashboard`` header, which no cross-site form
can send.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..queues import (
    get_job,
    job_counts,
    job_logs,
    percent,
    recent_jobs,
    retry_failed,
)
from .context import ApiContext, context
from .problems import Problem, bearer, require_job_id, token_matches, unauthorized
from .sessions import require_same_origin, session_valid, session_value

COOKIE = "pacai_dashboard"
COOKIE_MAX_AGE = 12 * 3600
CSRF_HEADER = "x-pacai-dashboard"
LIST_STATES = ("active", "waiting", "prioritized", "delayed", "failed", "completed")
RECENT_LIMIT = 50
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def routes() -> list[Route]:
    return [
        Route("/dashboard", overview_page, methods=["GET"]),
        Route("/dashboard/login", login, methods=["POST"]),
        Route("/dashboard/app.js", script, methods=["GET"]),
        Route("/dashboard/app.css", stylesheet, methods=["GET"]),
        Route("/dashboard/icon.svg", icon, methods=["GET"]),
        Route("/dashboard/api/jobs", overview_json, methods=["GET"]),
        # {id:path}: BullMQ allows '/' in custom job ids (sent as %2F).
        Route("/dashboard/api/jobs/{id:path}", job_json, methods=["GET"]),
        Route("/dashboard/jobs/{id:path}/retry", retry, methods=["POST"]),
        Route("/dashboard/jobs/{id:path}", job_page, methods=["GET"]),
    ]


# --- auth -------------------------------------------------------------------------------------


def signed_in(request: Request, tokens: tuple[str, ...]) -> str | None:
    """``"header"`` or ``"cookie"`` for the way the request proved a token, else None."""
    if token_matches(bearer(request), tokens):
        return "header"
    if session_valid(request.cookies.get(COOKIE), tokens, time.time()):
        return "cookie"
    return None


def _signed_in_redirect(request: Request, token: str) -> Response:
    response = RedirectResponse("/dashboard", 303, headers=SECURITY_HEADERS)
    session = session_value(token, int(time.time()) + COOKIE_MAX_AGE)
    response.set_cookie(COOKIE, session, max_age=COOKIE_MAX_AGE, path="/dashboard",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _login_page(ctx: ApiContext, message: str, status: int = 401,
                headers: dict[str, str] | None = None) -> Response:
    body = f"""<h1>Sign in</h1>
<p class="note">{escape(message)}</p>
<form method="post" action="/dashboard/login" class="login">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>"""
    return _html(ctx, "Sign in", body, status=status, headers=headers)


def _require_json_auth(request: Request, ctx: ApiContext) -> str:
    how = signed_in(request, ctx.settings.api_tokens)
    if how is None:
        raise unauthorized("sign in: a bearer token or the dashboard cookie is required")
    return how


async def login(request: Request) -> Response:
    ctx = context(request)
    require_same_origin(request)
    client = request.client.host if request.client else "unknown"
    wait = await ctx.logins.wait_seconds(client)
    if wait:
        return _login_page(ctx, f"Too many wrong tokens from your address: try again in "
                           f"{wait} s.", status=429, headers={"retry-after": str(wait)})
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    if token_matches(token, ctx.settings.api_tokens):
        return _signed_in_redirect(request, token)
    await ctx.logins.failed(client)
    return _login_page(ctx, "That token is not valid. Use one of the API's tokens.")


# --- data -------------------------------------------------------------------------------------


def _summary(state: str, job: dict[str, Any]) -> dict[str, Any]:
    data = job["data"] if isinstance(job["data"], dict) else {}
    project = data.get("project_id")
    return {"id": job["id"], "name": job["name"], "state": state,
            "project_id": project if isinstance(project, str) else None,
            "progress": percent(job["progress"]), "attempts_made": job["attempts_made"],
            "timestamp": job["timestamp"], "finished_on": job["finished_on"],
            "error": job["failed_reason"]}


async def _overview(ctx: ApiContext) -> dict[str, Any]:
    queue = ctx.client.queue
    counts = await job_counts(queue)
    seen: set[str] = set()
    jobs = []
    for state, job in await recent_jobs(queue, LIST_STATES, RECENT_LIMIT):
        if job["id"] not in seen:  # a job that moved while we listed shows once
            seen.add(job["id"])
            jobs.append(_summary(state, job))
    jobs.sort(key=_newest_first, reverse=True)
    return {"counts": counts, "jobs": jobs[:RECENT_LIMIT]}


def _newest_first(job: dict[str, Any]) -> tuple[int, int, str]:
    # Jobs added in the same millisecond: BullMQ's numeric ids still tell their order.
    numeric = job["id"].isascii() and job["id"].isdigit()
    return job["timestamp"], int(job["id"]) if numeric else 0, job["id"]


async def _detail(ctx: ApiContext, job_id: str) -> dict[str, Any]:
    status = await ctx.status(job_id)
    if status is None:
        raise Problem(404, "job-not-found", "Job not found",
                      f"no job {job_id!r} in queue {ctx.settings.queue_name}")
    job = await get_job(ctx.client.queue, job_id)
    status["data"] = job.data if job is not None else None
    status["logs"] = await job_logs(ctx.client.queue, job_id) if job is not None else []
    return status


async def overview_json(request: Request) -> Response:
    ctx = context(request)
    _require_json_auth(request, ctx)
    return JSONResponse(await _overview(ctx), headers={"cache-control": "no-store"})


async def job_json(request: Request) -> Response:
    ctx = context(request)
    _require_json_auth(request, ctx)
    detail = await _detail(ctx, require_job_id(request.path_params["id"]))
    try:
        return JSONResponse(detail, headers={"cache-control": "no-store"})
    except (RecursionError, ValueError):
        # Data that decoded but nests too deep to encode again: show the job without it.
        detail["data"] = None
        return JSONResponse(detail, headers={"cache-control": "no-store"})


async def retry(request: Request) -> Response:
    ctx = context(request)
    if _require_json_auth(request, ctx) == "cookie" and not request.headers.get(CSRF_HEADER):
        raise Problem(403, "forbidden", "Forbidden",
                      f"a cookie-authenticated POST needs the {CSRF_HEADER} header")
    job_id = require_job_id(request.path_params["id"])
    if await get_job(ctx.client.queue, job_id) is None:
        raise Problem(404, "job-not-found", "Job not found",
                      f"no job {job_id!r} in queue {ctx.settings.queue_name}")
    if not await retry_failed(ctx.client.queue, job_id):
        raise Problem(409, "not-failed", "Job is not failed",
                      f"job {job_id!r} is not in the failed state; only failed jobs are retried")
    return JSONResponse({"id": job_id, "state": "waiting"}, 202)


# --- pages ------------------------------------------------------------------------------------


async def overview_page(request: Request) -> Response:
    ctx = context(request)
    if "token" in request.query_params:
        # A token in a URL lands in browser history, proxy logs and Referer headers.
        return _login_page(ctx, "Tokens in the address (?token=) are not accepted. Sign in "
                           "with the form below.")
    if signed_in(request, ctx.settings.api_tokens) is None:
        return _login_page(ctx, "Sign in with one of the API's tokens (API_TOKENS).")
    overview = await _overview(ctx)
    counts = "".join(
        f'<div class="count" data-state="{escape(state)}"><span class="n">{n}</span>'
        f'<span class="label">{escape(state)}</span></div>'
        for state, n in overview["counts"].items())
    items = "".join(_job_item(job) for job in overview["jobs"])
    body = f"""<h1>Export queue</h1>
<section class="counts" id="counts" aria-label="jobs by state">{counts}</section>
<h2>Recent jobs</h2>
<p id="empty" class="note"{" hidden" if overview["jobs"] else ""}>No jobs yet.</p>
<ul class="jobs" id="jobs">{items}</ul>"""
    return _html(ctx, "Export queue", body, view="overview", poll="/dashboard/api/jobs")


def _job_href(job_id: str) -> str:
    return "/dashboard/jobs/" + quote(job_id, safe="")


def _job_item(job: dict[str, Any]) -> str:
    state, progress = escape(job["state"]), job["progress"]
    return (f'<li class="job" data-id="{escape(job["id"])}" data-state="{state}">'
            f'<a class="id" href="{escape(_job_href(job["id"]))}">{escape(job["id"])}</a>'
            f'<span class="project">{escape(job["project_id"] or "")}</span>'
            f'<span class="state state-{state}">{state}</span>'
            f'<span class="pct">{progress}%</span>'
            f'<progress max="100" value="{progress}"></progress></li>')


def safe_download(url: object) -> str | None:
    """Only http(s) URLs become links (a ``javascript:`` URL in a result must not)."""
    if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


async def job_page(request: Request) -> Response:
    ctx = context(request)
    if signed_in(request, ctx.settings.api_tokens) is None:
        return _login_page(ctx, "Sign in with one of the API's tokens (API_TOKENS).")
    job_id = require_job_id(request.path_params["id"])
    detail = await _detail(ctx, job_id)
    data = detail["data"] if isinstance(detail["data"], dict) else {}
    result = detail.get("result")
    download = safe_download(result.get("download_url")) if isinstance(result, dict) else None
    state = escape(detail["state"])
    facts = {"project": data.get("project_id"), "engines": ", ".join(map(str, data.get(
        "engines") or [])), "quality": data.get("quality"),
        "attempts made": detail["attempts_made"]}
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v) if v is not None else '—')}</dd>"
                   for k, v in facts.items())
    link = (f'<a id="download" href="{escape(download)}">{escape(download.rsplit("/", 1)[-1])}'
            f'</a>' if download else '<a id="download"></a>')
    error = detail.get("error")
    body = f"""<p><a href="/dashboard">← all jobs</a></p>
<h1>Job <span id="job-id">{escape(job_id)}</span></h1>
<p><span id="state" class="state state-{state}">{state}</span>
<span id="pct" class="pct">{detail["progress"]}%</span></p>
<progress id="progress" max="100" value="{detail["progress"]}"></progress>
<dl id="facts">{rows}</dl>
<p id="download-p"{"" if download else " hidden"}>Download: {link}</p>
<section id="error-s"{"" if error else " hidden"}><h2>Error</h2>
<pre id="error">{escape(str(error or ""))}</pre>
<button type="submit" id="retry"{"" if detail["state"] == "failed" else " hidden"}>Retry</button>
</section>
<h2>Result</h2>
<pre id="result">{escape(json.dumps(result, indent=2) if result is not None else "—")}</pre>
<h2>Logs</h2>
<pre id="logs">{escape(chr(10).join(detail["logs"]))}</pre>"""
    poll = "/dashboard/api/jobs/" + quote(job_id, safe="")
    return _html(ctx, f"Job {job_id}", body, view="job", poll=poll, job_id=job_id)


def _html(ctx: ApiContext, title: str, body: str, *, status: int = 200, view: str = "",
          poll: str = "", job_id: str = "", headers: dict[str, str] | None = None) -> Response:
    attrs = (f' data-view="{escape(view)}" data-poll="{escape(poll)}" '
             f'data-job="{escape(job_id)}"' if view else "")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · PacAI exports</title>
<link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/app.css">
<link rel="stylesheet" href="/dashboard/static/preview.css"></head>
<body><header><a href="/dashboard">PacAI exports</a>
<span>queue {escape(ctx.settings.queue_name)}</span><span id="live" aria-live="polite"></span>
</header>
<main{attrs}>
{body}
</main>
<script src="/dashboard/app.js" defer></script>
<script src="/dashboard/static/live.js" defer></script>
<script src="/dashboard/static/preview.js" defer></script></body></html>
"""
    return HTMLResponse(page, status, headers={**SECURITY_HEADERS, **(headers or {})})


async def script(_: Request) -> Response:
    return Response(SCRIPT, media_type="text/javascript",
                    headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"})


async def stylesheet(_: Request) -> Response:
    return Response(STYLESHEET, media_type="text/css",
                    headers={"cache-control": "no-cache", "x-content-type-options": "nosniff"})


async def icon(_: Request) -> Response:
    return Response(ICON, media_type="image/svg+xml",
                    headers={"cache-control": "max-age=86400", "x-content-type-options": "nosniff"})


ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
        '<rect width="16" height="16" rx="3" fill="#1f2937"/>'
        '<path d="M4 4h5a3 3 0 0 1 0 6H6v2H4z" fill="#fff"/></svg>')

SCRIPT = r"""'use strict';
(() => {
  const POLL_MS = 1500;
  const main = document.querySelector('main[data-poll]');
  if (!main) return;
  const live = document.getElementById('live');
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
  const byId = (id) => document.getElementById(id);
  const httpUrl = (u) => {
    try { return ['http:', 'https:'].includes(new URL(u, location.href).protocol); }
    catch (e) { return false; }
  };

  function jobItem(job) {
    const li = el('li', 'job');
    li.dataset.id = job.id;
    li.dataset.state = job.state;
    const link = el('a', 'id', job.id);
    link.href = '/dashboard/jobs/' + encodeURIComponent(job.id);
    const bar = el('progress');
    bar.max = 100;
    bar.value = job.progress;
    li.append(link, el('span', 'project', job.project_id || ''),
              el('span', 'state state-' + job.state, job.state),
              el('span', 'pct', job.progress + '%'), bar);
    return li;
  }

  function renderOverview(data) {
    for (const node of document.querySelectorAll('.count')) {
      const n = data.counts[node.dataset.state];
      if (n !== undefined) node.querySelector('.n').textContent = String(n);
    }
    byId('jobs').replaceChildren(...data.jobs.map(jobItem));
    byId('empty').hidden = data.jobs.length > 0;
  }

  function renderJob(data) {
    const state = byId('state');
    state.textContent = data.state;
    state.className = 'state state-' + data.state;
    byId('pct').textContent = data.progress + '%';
    byId('progress').value = data.progress;
    const url = data.result && data.result.download_url;
    const link = byId('download');
    if (url && httpUrl(url)) {
      link.href = url;
      link.textContent = url.split('/').pop();
      byId('download-p').hidden = false;
    } else {
      byId('download-p').hidden = true;
    }
    byId('error').textContent = data.error || '';
    byId('error-s').hidden = !data.error;
    byId('retry').hidden = data.state !== 'failed';
    byId('result').textContent = data.result ? JSON.stringify(data.result, null, 2) : '—';
    byId('logs').textContent = (data.logs || []).join('\n');
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    try {
      const response = await fetch(main.dataset.poll, {
        credentials: 'same-origin', headers: {accept: 'application/json'}});
      if (response.ok) {
        const data = await response.json();
        (main.dataset.view === 'job' ? renderJob : renderOverview)(data);
        live.textContent = 'live ' + new Date().toLocaleTimeString();
      } else {
        live.textContent = 'HTTP ' + response.status;
      }
    } catch (e) {
      live.textContent = 'offline';
    }
    timer = setTimeout(poll, POLL_MS);
  }

  const retry = byId('retry');
  if (retry) {
    retry.addEventListener('click', async () => {
      retry.disabled = true;
      const path = '/dashboard/jobs/' + encodeURIComponent(main.dataset.job) + '/retry';
      const response = await fetch(path, {
        method: 'POST', credentials: 'same-origin', headers: {'x-pacai-dashboard': '1'}});
      live.textContent = response.ok ? 'retrying' : 'retry failed: HTTP ' + response.status;
      retry.disabled = false;
      if (!window.pacaiLive) poll();  // a live page hears the retry from its stream
    });
  }
  // live.js (loaded after this script) streams the page when the browser can; else poll.
  window.pacaiDashboard = {renderJob, renderOverview, poll};
  document.addEventListener('DOMContentLoaded', () => { if (!window.pacaiLive) poll(); });
})();
"""

STYLESHEET = """*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;
  background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;padding:.75rem 1rem;
  background:#1f2937;color:#e5e7eb}
header a{color:#fff;font-weight:600;text-decoration:none}
#live{margin-left:auto;font-size:.8rem;color:#9ca3af}
main{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin-top:1.5rem}
.note{color:#57606a}
.counts{display:grid;grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr));gap:.5rem}
.count{background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.5rem .75rem}
.count .n{display:block;font-size:1.4rem;font-weight:600}
.count .label{font-size:.85rem;color:#57606a}
.jobs{list-style:none;padding:0;margin:0;display:grid;gap:.5rem}
.job{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:.25rem .75rem;align-items:center;
  background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.6rem .75rem}
.job .id,.job .project{overflow-wrap:anywhere;min-width:0}
.job progress{grid-column:1/-1;width:100%}
.job .state{justify-self:start}
.state{display:inline-block;font-size:.8rem;padding:.05rem .55rem;border-radius:1rem;
  background:#eaeef2}
.state-completed{background:#dafbe1;color:#116329}
.state-failed{background:#ffebe9;color:#a40e26}
.state-active{background:#ddf4ff;color:#0550ae}
.pct{font-variant-numeric:tabular-nums;color:#57606a}
progress{width:100%;height:.6rem}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem}
dt{color:#57606a}
dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #d0d7de;
  border-radius:.5rem;padding:.75rem;max-height:26rem;overflow:auto;font-size:.85rem}
a{color:#0969da}
#download{overflow-wrap:anywhere}
button{font:inherit;padding:.5rem 1.25rem;border-radius:.4rem;border:1px solid #a40e26;
  background:#cf222e;color:#fff;cursor:pointer}
.login{display:grid;gap:.5rem;max-width:22rem}
.login input{font:inherit;padding:.5rem;border:1px solid #d0d7de;border-radius:.4rem;width:100%}
.login button{border-color:#1f6feb;background:#1f6feb}
@media (min-width:44rem){
  .job{grid-template-columns:minmax(0,2fr) minmax(0,2fr) 7rem 3.5rem 10rem}
  .job progress{grid-column:auto}
}
"""
