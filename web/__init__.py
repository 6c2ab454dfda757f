"""The patient portal's web page with the chat widget (a small Sanic app); see `web/app.py`."""
