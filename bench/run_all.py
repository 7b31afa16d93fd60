"""Run every benchmark in turn (one at a time: they share two cores) and print their figures."""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "http_baseline.py",
    "hot_reads.py",
    "identity_http.py",
    "lobby.py",
    "push_stream.py",
    "mail_throughput.py",
    "notifications.py",
    "runtime.py",
    "report_archive.py",
    "startup_rss.py",
    "db_faults.py",
    "console.py",
    "web_client.py",
]


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()  # --help runs nothing
    failed = 0
    for script in SCRIPTS:
        print(f"\n=== {script} ===", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script)], check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
