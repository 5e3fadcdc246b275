"""`Framework`: one scheduling profile, its plugins in order, and how each extension point runs.

    fwk = Framework(default_plugins(), weights=DEFAULT_WEIGHTS, listers=listers, nominator=queue)
    fwk.set_snapshot(cache.snapshot())
    state = CycleState()
    result, status = fwk.run_pre_filter(state, pod)

Plugins are given as factories called with the framework (the `Handle`), so a plugin that needs
the snapshot, listers or filter runs (preemption) receives them explicitly. The framework only
runs plugins; choosing a node from their answers is `schedule_one`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from .cycle_state import CycleState
from .interfaces import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    ClusterEvent,
    FilterPlugin,
    Listers,
    Nominator,
    PostFilterPlugin,
    PostFilterResult,
    PreFilterExtensions,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    ScoreExtensions,
    ScorePlugin,
)
from .snapshot import Snapshot
from .status import Code, Status, unresolvable
from .types import NodeInfo, PodInfo

PluginFactory = Callable[["Framework"], Any]


class NoListers:
    """Listers for a framework without informers: nothing is cached."""

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        return []

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict | None:
        return None


class NoNominations:
    def nominated_pods_for_node(self, node_name: str) -> list[PodInfo]:
        return []

    def nominated_node_names(self) -> Iterable[str]:
        return ()


class Framework:
    def __init__(self, plugins: Sequence[PluginFactory], *, weights: Mapping[str, int] | None = None,
                 scheduler_name: str = "default-scheduler", listers: Listers | None = None,
                 nominator: Nominator | None = None, percentage_of_nodes_to_score: int = 0) -> None:
        self.scheduler_name = scheduler_name
        self.listers: Listers = listers or NoListers()
        self.nominator: Any = nominator or NoNominations()
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self._snapshot = Snapshot()
        self.plugins = [factory(self) for factory in plugins]
        weights = dict(weights or {})
        self.pre_filter_plugins = [p for p in self.plugins if isinstance(p, PreFilterPlugin)]
        self.pre_filter_extensions = [p for p in self.pre_filter_plugins if isinstance(p, PreFilterExtensions)]
        self.filter_plugins = [p for p in self.plugins if isinstance(p, FilterPlugin)]
        self.post_filter_plugins = [p for p in self.plugins if isinstance(p, PostFilterPlugin)]
        self.pre_score_plugins = [p for p in self.plugins if isinstance(p, PreScorePlugin)]
        self.score_plugins = [p for p in self.plugins if isinstance(p, ScorePlugin)]
        self.weights = {p.name: weights.get(p.name, 1) for p in self.score_plugins}
        self._scorers = [(p.name, p.score, getattr(p, "score_nodes", None),
                          p.normalize_score if isinstance(p, ScoreExtensions) else None,
                          self.weights[p.name]) for p in self.score_plugins]

    # ----- handle

    def set_snapshot(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        ns = self.listers.get("namespaces", namespace)
        if ns is None:
            return None
        return (ns.get("metadata") or {}).get("labels") or {}

    def plugin(self, name: str) -> Any:
        for p in self.plugins:
            if p.name == name:
                return p
        raise KeyError(name)

    def events_to_register(self) -> dict[str, list[ClusterEvent]]:
        """Per plugin that can reject pods, the cluster events that may make them schedulable."""
        out = {}
        for p in self.plugins:
            fn = getattr(p, "events_to_register", None)
            if fn is not None:
                out[p.name] = list(fn())
        return out

    # ----- PreFilter

    def run_pre_filter(self, state: CycleState, pod: PodInfo) -> tuple[PreFilterResult | None, Status | None]:
        nodes = self._snapshot.node_infos
        merged: PreFilterResult | None = None
        restricting: list[str] = []
        for p in self.pre_filter_plugins:
            result, status = p.pre_filter(state, pod, nodes)
            if status is not None and status.code != Code.SUCCESS:
                if status.code == Code.SKIP:
                    state.skip_filter_plugins.add(p.name)
                    continue
                return None, status.with_plugin(p.name)     # rejected, or an error
            if result is not None and result.node_names is not None:
                restricting.append(p.name)
                if merged is None or merged.node_names is None:
                    merged = PreFilterResult(set(result.node_names))
                else:
                    merged.node_names &= result.node_names
                merged.plugins = list(restricting)
                if not merged.node_names:
                    if len(restricting) == 1:
                        msg = f"node(s) didn't satisfy plugin {restricting[0]}"
                    else:
                        msg = f"node(s) didn't satisfy plugin(s) [{' '.join(restricting)}] simultaneously"
                    return merged, unresolvable(msg, plugin=restricting[-1])
        return merged, None

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod: PodInfo, pod_to_add: PodInfo,
                                         node_info: NodeInfo) -> Status | None:
        for p in self.pre_filter_extensions:
            if p.name in state.skip_filter_plugins:
                continue
            st = p.add_pod(state, pod, pod_to_add, node_info)
            if st is not None and st.code != Code.SUCCESS:
                return st.with_plugin(p.name)
        return None

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod: PodInfo, pod_to_remove: PodInfo,
                                            node_info: NodeInfo) -> Status | None:
        for p in self.pre_filter_extensions:
            if p.name in state.skip_filter_plugins:
                continue
            st = p.remove_pod(state, pod, pod_to_remove, node_info)
            if st is not None and st.code != Code.SUCCESS:
                return st.with_plugin(p.name)
        return None

    # ----- Filter

    def active_filters(self, state: CycleState) -> list[tuple[str, Callable[..., Status | None]]]:
        skip = state.skip_filter_plugins
        return [(p.name, p.filter) for p in self.filter_plugins if p.name not in skip]

    def run_filter_plugins(self, state: CycleState, pod: PodInfo, node_info: NodeInfo) -> Status | None:
        for name, fn in self.active_filters(state):
            st = fn(state, pod, node_info)
            if st is not None and st.code != Code.SUCCESS:
                return st.with_plugin(name)
        return None

    def run_filter_plugins_with_nominated_pods(self, state: CycleState, pod: PodInfo,
                                               node_info: NodeInfo) -> Status | None:
        """Filter with the pods nominated to this node (of at least this pod's priority) counted as
        if running there, then, if that passed and some were added, without them (as Kubernetes
        does: the nominated pods might not get there)."""
        state_with, node_with = self._add_nominated_pods(state, pod, node_info)
        if node_with is None:
            return self.run_filter_plugins(state, pod, node_info)
        st = self.run_filter_plugins(state_with, pod, node_with)
        if st is not None and st.code != Code.SUCCESS:
            return st
        return self.run_filter_plugins(state, pod, node_info)

    def _add_nominated_pods(self, state: CycleState, pod: PodInfo,
                            node_info: NodeInfo) -> tuple[CycleState, NodeInfo | None]:
        nominated = self.nominator.nominated_pods_for_node(node_info.name)
        added = None
        state_out = state
        for npi in nominated:
            if npi.priority >= pod.priority and npi.uid != pod.uid:
                if added is None:
                    added = node_info.clone()
                    state_out = state.clone()
                added.add_pod(npi)
                st = self.run_pre_filter_extension_add_pod(state_out, pod, npi, added)
                if st is not None and st.code != Code.SUCCESS:
                    return state, None
        return state_out, added

    # ----- PostFilter

    def run_post_filter(self, state: CycleState, pod: PodInfo,
                        node_to_status: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        reasons: list[str] = []
        rejector = ""
        result = None
        for p in self.post_filter_plugins:
            r, st = p.post_filter(state, pod, node_to_status)
            if st.code == Code.SUCCESS:
                return r, st
            if st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
                return r, st.with_plugin(p.name)
            if st.code != Code.UNSCHEDULABLE:
                return None, st.with_plugin(p.name)
            if r is not None:
                result = r
            reasons.extend(st.reasons)
            rejector = rejector or p.name
        return result, Status(Code.UNSCHEDULABLE, tuple(reasons), rejector)

    # ----- PreScore and Score

    def run_pre_score(self, state: CycleState, pod: PodInfo, nodes: Sequence[NodeInfo]) -> Status | None:
        for p in self.pre_score_plugins:
            st = p.pre_score(state, pod, nodes)
            if st is None or st.code == Code.SUCCESS:
                continue
            if st.code == Code.SKIP:
                state.skip_score_plugins.add(p.name)
                continue
            return st.with_plugin(p.name)
        return None

    def run_score_plugins(self, state: CycleState, pod: PodInfo,
                          nodes: Sequence[NodeInfo]) -> tuple[list[int], dict[str, list[int]]]:
        """The weighted total per node, and each plugin's normalised scores."""
        totals: list[int] | None = None
        per_plugin: dict[str, list[int]] = {}
        skip = state.skip_score_plugins
        for name, fn, batch, normalize, w in self._scorers:
            if name in skip:
                continue
            scores = batch(state, pod, nodes) if batch is not None else [fn(state, pod, ni) for ni in nodes]
            if normalize is not None:
                normalize(state, pod, nodes, scores)
            if scores and (max(scores) > MAX_NODE_SCORE or min(scores) < MIN_NODE_SCORE):
                bad = next(s for s in scores if s > MAX_NODE_SCORE or s < MIN_NODE_SCORE)
                raise ValueError(f"plugin {name} returned an invalid score {bad}: it should be in the "
                                 f"range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing")
            per_plugin[name] = scores
            if w != 1:
                scores = [s * w for s in scores]
            totals = scores if totals is None else [a + b for a, b in zip(totals, scores)]
        return totals if totals is not None else [0] * len(nodes), per_plugin
