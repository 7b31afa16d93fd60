"""Regenerate the push protocol code from proto/push.proto (run: `make proto`).

The code lives in a package of its own, `galaxy_proto`, shared by the backend and the
gateway: neither imports the other, and the message types are registered once per process.
"""

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "galaxy_proto"


def generate(out_dir: Path) -> None:
    """Write push_pb2.py, push_pb2.pyi and push_pb2_grpc.py under out_dir/galaxy_proto."""
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{include}",
        # Mapping the proto into the package path makes the generated imports absolute.
        f"-I{PACKAGE}={ROOT / 'proto'}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--plugin=protoc-gen-mypy={Path(sys.executable).parent / 'protoc-gen-mypy'}",
        f"--mypy_out={out_dir}",
        f"{PACKAGE}/push.proto",
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "src")
