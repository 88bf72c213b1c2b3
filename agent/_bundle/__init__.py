"""Files the package ships that are not host code: ``seccomp/`` and ``sandbox_image/``.

pyproject.toml maps those two top-level folders here, so a wheel carries them as
``agent._bundle.seccomp`` and ``agent._bundle.sandbox_image``. Read them only through
``agent.sandbox._files`` (importlib.resources), never through a path into a checkout.
"""
