"""A host of the tests' own: a network namespace joined to this one by a veth pair, whose
firewall can drop every packet, so that a peer vanishes without a reset or a FIN, as a
machine does when it loses power or its network. Needs root and iproute2 with nftables;
`available()` says why not otherwise."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed"
    return None


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=10)


@dataclass
class Namespace:
    name: str
    host_address: str
    address: str

    def silence(self) -> None:
        """Drop every packet in and out of the namespace: it neither hears nor answers."""
        _run("ip", "netns", "exec", self.name, "nft", "add", "table", "inet", "vanish")
        for hook in ("input", "output"):
            _run(
                "ip", "netns", "exec", self.name, "nft", "add", "chain", "inet", "vanish", hook,
                f"{{ type filter hook {hook} priority 0; policy drop; }}",
            )  # fmt: skip

    def restore(self) -> None:
        _run("ip", "netns", "exec", self.name, "nft", "delete", "table", "inet", "vanish")


@contextmanager
def namespace() -> Iterator[Namespace]:
    """A namespace reachable from here at 10.213.x.2 (this side 10.213.x.1), removed after."""
    tag = os.getpid() % 250 + 1
    name, host_end, far_end = f"galaxy-fault-{tag}", f"gxh{tag}", f"gxn{tag}"
    made = Namespace(name, f"10.213.{tag}.1", f"10.213.{tag}.2")
    try:
        _run("ip", "netns", "add", name)
        _run("ip", "link", "add", host_end, "type", "veth", "peer", "name", far_end)
        _run("ip", "link", "set", far_end, "netns", name)
        _run("ip", "addr", "add", f"{made.host_address}/30", "dev", host_end)
        _run("ip", "link", "set", host_end, "up")
        inside = ("ip", "netns", "exec", name, "ip")
        _run(*inside, "addr", "add", f"{made.address}/30", "dev", far_end)
        _run(*inside, "link", "set", far_end, "up")
        _run(*inside, "link", "set", "lo", "up")
        yield made
    finally:
        subprocess.run(["ip", "link", "del", host_end], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
