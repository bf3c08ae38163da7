"""Git smart HTTP for each algorithm's repository (dulwich), at ``/git/<owner>/<algo>.git``.

    repos.py      the bare repositories on disk: create, read master, export a commit, delete
    smarthttp.py  the smart HTTP protocol for one repository; a push's ref is updated only from the value it read
    backend.py    GitBackend: who may use a repository, pushes one at a time, the build a push starts
    routes.py     ``/git/...`` (HTTP only)
"""
