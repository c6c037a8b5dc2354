"""``opiaxis explore``: a local web app to look at virtual patients on regimens.

Built on FastAPI (a small JSON API) with a plain HTML/JavaScript page that draws with plotly.js,
served from the ``plotly`` package so the page needs no network. Chosen over a dashboard
framework (Dash, Panel) because the page's state is small, the simulations must run outside the
web server's process (compiled Numba code holds the GIL while it runs), and a JSON API is what
the tests — and other tools — can drive directly; the browser tests then click through the same
page a person uses.

Simulations run in one worker process that loads the compiled model once
(:mod:`opiaxis.explore.jobs`); a run is split into chunks of patients, so it reports progress
and can be cancelled between chunks, and the page stays responsive.
"""

from __future__ import annotations

from .app import create_app, serve

__all__ = ["create_app", "serve"]
