"""Package data: the sandbox's seccomp profile (installed as ``agent._bundle.seccomp``; see README.md)."""
