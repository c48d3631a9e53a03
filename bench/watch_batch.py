"""How long `renditions watch` takes to start building after many new articles land at once.

    .venv/bin/python bench/watch_batch.py [--articles 2000] [--rounds 3]

A site made by `renditions init`; `renditions watch --no-initial-build` runs in a child process;
each round writes N new articles (with their variant keys, no masters: the build that follows
fails them fast, which is not what is measured) and reports the time from the last write to the
watcher's `rebuilding` line. Printed, never asserted (BENCHMARKS.md, "renditions watch latency").
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

KEYS = {
    "image": "/img/artical/articles/{slug}.png",
    "mobile": "/img/artical/mobile-articles/{slug}.png",
    "singleImage": "/img/artical/single-articles/{slug}.png",
    "MobileSingleImage": "/img/artical/mobile-single-articles/{slug}.png",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--articles", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "renditions"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        env = dict(os.environ, RENDITIONS_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONUNBUFFERED="1")
        subprocess.run([*exe, "init", "--root", str(root)], check=True, env=env, capture_output=True)
        proc = subprocess.Popen(
            [*exe, "watch", "--no-initial-build", "--root", str(root)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: list[tuple[float, str]] = []
        threading.Thread(target=lambda: lines.extend((time.monotonic(), ln) for ln in proc.stdout or ()), daemon=True).start()

        def wait_for(text: str, after: int, since: float = 0.0) -> tuple[int, float]:
            while True:
                for i, (t, ln) in enumerate(lines[after:], start=after):
                    if text in ln and t >= since:
                        return i, t
                if proc.poll() is not None:
                    raise SystemExit("the watcher stopped")
                time.sleep(0.01)

        seen, _ = wait_for("watching", 0)
        try:
            for r in range(args.rounds):
                for k in range(args.articles):
                    slug = f"r{r}-article-{k:05d}"
                    keys = "".join(f'{key}: "{path.format(slug=slug)}"\n' for key, path in KEYS.items())
                    (root / "content" / f"{slug}.md").write_text(f"---\ntitle: {slug}\n{keys}---\n\nText.\n")
                last_write = time.monotonic()
                # an earlier batch may have started while files were still landing: the first build
                # that starts after the last write is the one that reads it
                seen, started = wait_for("rebuilding", seen + 1, since=last_write)
                print(
                    f"round {r + 1}: {args.articles} new articles: rebuilding {started - last_write:.2f} s after the last write"
                )
                seen, _ = wait_for(" failed", seen)  # that build ends before the next round
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        print(f"load average: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
