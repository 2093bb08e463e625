"""Time of one message through ``Assistant.handle`` on SQLite, each answer committed.

Usage: python benchmarks/handle_latency.py [--messages 1000] [--db URL]
Prints the median and percentiles over the messages, then one RESULT line.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.core import Assistant
from bot.messages import Incoming


async def main(messages: int, url: str) -> None:
    assistant = await Assistant.create(Settings(database_url=url, secret="bench"))
    timings: list[float] = []
    sent = 0
    user = 0
    try:
        while sent < messages:
            key = assistant.user_key("console", f"bench{user}")
            script = (["/facteurs", "2", "Projet de test"] + [str(i % 4 + 1) for i in range(23)]
                      + ["valider"])  # the recap before the summary (issue 14)
            for text in script:
                if sent >= messages:
                    break
                start = time.perf_counter()
                await assistant.handle(Incoming("console", key, "console", text=text))
                timings.append((time.perf_counter() - start) * 1000)
                sent += 1
            user += 1
    finally:
        await assistant.close()
    timings.sort()
    median = statistics.median(timings)
    p90 = timings[int(len(timings) * 0.9)]
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(f"messages: {len(timings)} ({user} users, sequential) on {url.split(':')[0]}")
    print(
        f"median: {median:.2f} ms   p90: {p90:.2f} ms   p99: {p99:.2f} ms   "
        f"max: {timings[-1]:.2f} ms"
    )
    print(
        f"RESULT median_ms={median:.2f} p90_ms={p90:.2f} p99_ms={p99:.2f} messages={len(timings)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(main(args.messages, url))
