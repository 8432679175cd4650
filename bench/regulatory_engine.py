"""Latency of the rules engine (classify, standards) and of an AI-cache hit, in-process.

    uv run python -m bench.regulatory_engine --iterations 2000

Each case runs in interleaved rounds (so a noisy neighbour hits every case alike) and reports
p50 / p99 in milliseconds and the p50 ratio to the baseline measured in the same run: parsing
the request body into its pydantic model, the least any request does. Targets (issue 3):
classify p99 < 5 ms, standards p99 < 20 ms, cache hit p99 < 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.regulatory.cache import AICache, cache_key
from app.regulatory.engine import RulesEngine
from app.regulatory.schemas.analysis import ClassifyRequest, StandardsRequest

CONCEPTS = [
    "CT 영상에서 폐결절을 검출하는 AI 소프트웨어",
    "손목에 착용해 심전도를 측정하고 심방세동을 알려주는 웨어러블",
    "AI software that detects diabetic retinopathy in fundus photographs",
    "수면 습관을 기록하는 웰니스 앱",
    "이식형 심장박동기",
]
STANDARDS = {
    "classification": {"isMedicalDevice": True, "riskClass": "II"},
    "category": {
        "code": "SW-CADE-LUNG",
        "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
        "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
        "regulatoryPath": "MFDS 2등급 기술문서 심사",
    },
    "purposeMechanism": "딥러닝 기반 폐결절 검출 보조",
}
TARGET_P99_MS = {"classify": 5.0, "standards": 20.0, "cache_hit": 1.0}


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(iterations: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    engine = RulesEngine()
    cache = AICache(MemoryKeyValueStore(), ttl_s=3600, backend="memory")
    requests = [ClassifyRequest(concept=c) for c in CONCEPTS]
    standards = StandardsRequest.model_validate(STANDARDS)
    key = cache_key(provider="rules", model="rules-v1", endpoint="classify", payload={"c": 1})
    await cache.set(key, engine.classify(requests[0]).to_api())
    raw_body = {"concept": CONCEPTS[0]}

    sync_cases: dict[str, Callable[[int], Any]] = {
        "baseline": lambda i: ClassifyRequest.model_validate(raw_body),
        "classify": lambda i: engine.classify(requests[i % len(requests)]),
        "standards": lambda i: engine.standards(standards),
    }
    samples: dict[str, list[float]] = {name: [] for name in [*sync_cases, "cache_hit"]}
    cpu: dict[str, list[float]] = {name: [] for name in samples}
    for i in range(50):  # warm-up: imports, regex caches, branch predictors
        for call in sync_cases.values():
            call(i)
    rounds = 10
    per_round = max(1, iterations // rounds)
    for _ in range(rounds):
        # As timeit does: collect between rounds, not inside a timed call.
        gc.collect()
        gc.disable()
        for name, call in sync_cases.items():
            for i in range(per_round):
                cpu_started, started = time.thread_time(), time.perf_counter()
                call(i)
                samples[name].append(time.perf_counter() - started)
                cpu[name].append(time.thread_time() - cpu_started)
        for _ in range(per_round):
            cpu_started, started = time.thread_time(), time.perf_counter()
            await cache.get(key)
            samples["cache_hit"].append(time.perf_counter() - started)
            cpu["cache_hit"].append(time.thread_time() - cpu_started)
        gc.enable()
    return samples, cpu


def main(argv: list[str] | None = None) -> int:
    """Print p50/p99 per case and whether each target holds; exit 1 when one does not."""
    parser = argparse.ArgumentParser(prog="python -m bench.regulatory_engine")
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args(argv)
    samples, cpu = asyncio.run(_run(args.iterations))
    base = statistics.median(samples["baseline"])
    # Wall time is what a request waits; CPU time of this thread is the engine's own cost
    # (on a busy machine the wall p99 also holds time spent waiting for a core).
    print(
        f"{'case':<10} {'p50 ms':>9} {'p99 ms':>9} {'cpu p99':>9} {'x baseline':>11}  target (wall)"
    )
    ok = True
    for name, values in samples.items():
        p50, p99 = _percentile(values, 0.5) * 1000, _percentile(values, 0.99) * 1000
        target = TARGET_P99_MS.get(name)
        verdict = ""
        if target is not None:
            met = p99 < target
            ok &= met
            verdict = f"p99 < {target:g} ms: {'yes' if met else 'NO'}"
        cpu99 = _percentile(cpu[name], 0.99) * 1000
        print(
            f"{name:<10} {p50:>9.3f} {p99:>9.3f} {cpu99:>9.3f} {p50 / 1000 / base:>10.1f}x  {verdict}"
        )
    print(f"({len(samples['baseline'])} samples per case)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
