"""Start-up benchmark: `python -m bot preview SAMPLE` and `python -m bot --version` as whole processes.

    python bench/startup.py [--runs 10] [--sample digests/2025.11.20.20.md] [--platform text]

Each command runs `--runs` times after one warm-up run, and the median wall time is printed (like
hyperfine's), with the CPU time the process used (user + system: on a loaded machine the wall time
also counts the waits for a core). Byte-code is cached in a temporary folder as an installed
package has it (the warm-up writes it), even where PYTHONDONTWRITEBYTECODE is set; `--no-cache`
measures without it. Target: preview under 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "digests" / "2025.11.20.20.md"


def environment(cache: Path | None) -> dict[str, str]:
    """This checkout's code (not whatever an editable install points at), with or without byte-code."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    )
    env.pop("DIGESTBOT_CONFIG", None)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run; a failing run stops the benchmark with its stderr."""
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {result.returncode}: {result.stderr.decode()}")
    return wall, children_cpu() - cpu


def measure(label: str, args: list[str], runs: int, env: dict[str, str]) -> float:
    timed(args, env)  # warm-up: byte-code written, files in the page cache
    samples = [timed(args, env) for _ in range(runs)]
    wall = statistics.median(w for w, _ in samples)
    cpu = statistics.median(c for _, c in samples)
    print(f"{label:<44} median {wall * 1000:6.0f} ms wall, {cpu * 1000:6.0f} ms CPU ({runs} runs)")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--platform", default="text", help="telegram, discord or text")
    parser.add_argument(
        "--no-cache", action="store_true", help="no byte-code: every module compiled each run"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        env = environment(None if args.no_cache else Path(folder))
        print(
            f"python {sys.version.split()[0]}, byte-code {'off' if args.no_cache else 'cached'}, "
            f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )
        bare = statistics.median(floor(env) for _ in range(args.runs))
        print(f"{'python -c pass (the floor)':<44} median {bare * 1000:6.0f} ms wall")
        measure("python -m bot --version", ["--version"], args.runs, env)
        preview = ["preview", str(args.sample), "--platform", args.platform]
        wall = measure(f"python -m bot preview SAMPLE --platform {args.platform}", preview, args.runs, env)
    print(f"preview target 500 ms: {'met' if wall < 0.5 else 'NOT met'}")
    return 0


def floor(env: dict[str, str]) -> float:
    """One bare interpreter start (site, .pth files): what no change to the bot can go below."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
