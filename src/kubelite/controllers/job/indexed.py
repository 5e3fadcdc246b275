"""Indexed Jobs (pure): completion indexes on pods, and sets of indexes in the compressed form
`status.completedIndexes` uses (`"1,3-5,7"`).
"""

from __future__ import annotations

from ..util.ranking import active_pods_rank

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
UNKNOWN = -1


def completion_index(pod: dict) -> int:
    """The pod's index from its annotation (label as a fallback), or -1."""
    md = pod.get("metadata") or {}
    v = (md.get("annotations") or {}).get(COMPLETION_INDEX)
    if v is None:
        v = (md.get("labels") or {}).get(COMPLETION_INDEX)
    if v is None or not v.isdigit():
        return UNKNOWN
    return int(v)


def parse_indexes(text: str | None, completions: int) -> set[int]:
    """Indexes below `completions` in `"1,3-5"` (malformed parts are skipped)."""
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi) if hi else int(lo)
        except ValueError:
            continue
        out.update(range(a, min(b, completions - 1) + 1))
    return out


def format_indexes(indexes: set[int]) -> str:
    parts: list[str] = []
    run: list[int] = []
    for ix in sorted(indexes):
        if run and ix == run[-1] + 1:
            run.append(ix)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [ix]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(parts)


def first_pending_indexes(active: list[dict], succeeded: set[int], count: int, completions: int) -> list[int]:
    """The lowest `count` indexes that have neither succeeded nor an active pod."""
    taken = succeeded | {completion_index(p) for p in active}
    out: list[int] = []
    for ix in range(completions):
        if len(out) >= count:
            break
        if ix not in taken:
            out.append(ix)
    return out


def duplicated_index_pods(active: list[dict], completions: int) -> tuple[list[dict], list[dict]]:
    """`(remove, keep)`: pods without a valid index or beyond completions go, and of several pods
    with one index only the best (the last to be chosen for deletion) stays."""
    remove: list[dict] = []
    keep: list[dict] = []
    by_index: dict[int, list[dict]] = {}
    for pod in active:
        ix = completion_index(pod)
        if ix == UNKNOWN or ix >= completions:
            remove.append(pod)
        else:
            by_index.setdefault(ix, []).append(pod)
    for ix in sorted(by_index):
        pods = sorted(by_index[ix], key=active_pods_rank)
        remove.extend(pods[:-1])
        keep.append(pods[-1])
    return remove, keep


def add_index_env(spec: dict) -> None:
    """`JOB_COMPLETION_INDEX` from the annotation, in every container that does not set it."""
    env = {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}}
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in c.get("env") or []):
                c["env"] = list(c.get("env") or []) + [dict(env)]
