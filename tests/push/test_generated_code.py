"""The committed protocol code is exactly what `make proto` generates from proto/push.proto."""

import importlib.util
import sys
from pathlib import Path

from tests.support import REPO


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", REPO / "scripts" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_proto"] = module
    spec.loader.exec_module(module)
    module.generate(tmp_path)
    generated = tmp_path / "galaxy_proto"
    committed = REPO / "src" / "galaxy_proto"
    names = sorted(p.name for p in generated.iterdir())
    assert names == ["push_pb2.py", "push_pb2.pyi", "push_pb2_grpc.py"]
    for name in names:
        assert (generated / name).read_text() == (committed / name).read_text(), name
