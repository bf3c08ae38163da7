"""Users, API keys and who is calling (users.md).

    backend.py   UserBackend: users, API keys (stored hashed), session keys of running calls;
                 ``Caller``, who is asking (state and logic)
    auth.py      the FastAPI dependencies every router uses: the caller (``require_caller``,
                 ``require_admin``) and the users backend (``user_backend``)
    routes.py    ``/v1/users`` (HTTP only)
"""
