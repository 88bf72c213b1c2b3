"""Opening network sockets: AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_VSOCK.

seccomp allows ``socket`` only for AF_UNIX (the container also has network ``none``), so
every other family raises PermissionError. The model asserts that, checks AF_UNIX still
works (multiprocessing needs it), and trains: ``ok``.
"""

SOURCE = """
import socket
import torch.nn as nn

FAMILIES = [
    ("AF_INET", socket.SOCK_STREAM),
    ("AF_INET", socket.SOCK_DGRAM),
    ("AF_INET6", socket.SOCK_STREAM),
    ("AF_NETLINK", socket.SOCK_RAW),
    ("AF_PACKET", socket.SOCK_RAW),
    ("AF_VSOCK", socket.SOCK_STREAM),
]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        for name, kind in FAMILIES:
            try:
                sock = socket.socket(getattr(socket, name), kind)
            except PermissionError:
                continue
            sock.close()
            raise AssertionError(f"a {name} socket was allowed")
        a, b = socket.socketpair()
        a.close()
        b.close()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
"""


def test_network_sockets_are_refused(hostile):
    run = hostile(SOURCE)
    assert run.status == "ok", run.explain()
