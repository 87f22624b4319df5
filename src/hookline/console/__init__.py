"""`hookline console`: the operators' web app (server-rendered, Starlette + Jinja, plain forms)."""
