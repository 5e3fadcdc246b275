"""`/metrics` in the Prometheus text format: request counts and latencies, watchers, objects."""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .server import APIServer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.durations: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)

    def observe_request(self, request: web.Request, code: int, seconds: float) -> None:
        parts = request.path.strip("/").split("/")
        resource = ""
        if parts and parts[0] in ("api", "apis"):
            rest = parts[2:] if parts[0] == "api" else parts[3:]
            if len(rest) >= 2 and rest[0] == "namespaces":
                rest = rest[2:] if len(rest) > 2 else ["namespaces"]
            resource = rest[0] if rest else ""
        verb = request.method
        if verb == "GET" and request.query.get("watch") in ("1", "true"):
            verb = "WATCH"
        self.requests[(verb, resource, str(code))] += 1
        key = (verb, resource)
        counts = self.durations.get(key)
        if counts is None:
            counts = self.durations[key] = [0] * (len(BUCKETS) + 1)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[key] += seconds

    def render(self, server: "APIServer") -> bytes:
        out = ["# HELP apiserver_request_total Counter of apiserver requests by verb, resource and code.",
               "# TYPE apiserver_request_total counter"]
        for (verb, res, code), n in sorted(self.requests.items()):
            out.append(f'apiserver_request_total{{verb="{verb}",resource="{res}",code="{code}"}} {n}')
        out += ["# HELP apiserver_request_duration_seconds Response latency distribution.",
                "# TYPE apiserver_request_duration_seconds histogram"]
        for (verb, res), counts in sorted(self.durations.items()):
            cum = 0
            for b, c in zip(BUCKETS, counts):
                cum += c
                out.append(f'apiserver_request_duration_seconds_bucket{{verb="{verb}",resource="{res}",le="{b}"}} {cum}')
            cum += counts[-1]
            out.append(f'apiserver_request_duration_seconds_bucket{{verb="{verb}",resource="{res}",le="+Inf"}} {cum}')
            out.append(f'apiserver_request_duration_seconds_sum{{verb="{verb}",resource="{res}"}} '
                       f'{self.sums[(verb, res)]:.6f}')
            out.append(f'apiserver_request_duration_seconds_count{{verb="{verb}",resource="{res}"}} {cum}')
        out += ["# HELP apiserver_registered_watchers Number of currently open watches per resource.",
                "# TYPE apiserver_registered_watchers gauge",
                "# HELP apiserver_storage_objects Number of stored objects per resource.",
                "# TYPE apiserver_storage_objects gauge"]
        for s in server.stores.values():
            r = s.resource
            out.append(f'apiserver_registered_watchers{{resource="{r.group_resource}"}} {s.cacher.watcher_count}')
            out.append(f'apiserver_storage_objects{{resource="{r.group_resource}"}} {len(s.cacher.objects)}')
        return ("\n".join(out) + "\n").encode()
