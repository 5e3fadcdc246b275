"""The generic store: every resource's create, get, list, update, delete and watch over a Backend.

This is the one place that knows how API objects become storage keys and bytes, how
`resourceVersion` maps to revisions, and how storage errors become Status errors (as Kubernetes'
`genericregistry.Store` over `storage.Interface`). Behaviour specific to a resource comes from
its `Strategy`; cross-cutting policy from the admission chain.

Order of a create (as Kubernetes): default → mutating admission → prepare_for_create (uid,
timestamps, status reset, generation) → validate → validating admission → managed fields →
storage. An update reads the current object, applies the caller's change (a new object or a
patch function), checks preconditions, prepares, validates and writes with compare-and-swap,
retrying on a lost race unless the caller pinned a resourceVersion.
"""

from __future__ import annotations

import base64
import copy
import logging
import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable, Protocol

import orjson

from kubelite.api.scheme import Resource
from kubelite.machinery import errors, fields, labels, timeutil
from kubelite.machinery.errors import FieldError, StatusError
from kubelite.storage import Backend, Compacted, KeyExists, KeyValue

from .cacher import Cacher
from .strategy import Strategy

log = logging.getLogger(__name__)

_GEN_ALPHABET = string.ascii_lowercase + string.digits
_MAX_UPDATE_RETRIES = 16


@dataclass
class UserInfo:
    username: str
    uid: str = ""
    groups: list[str] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"username": self.username}
        if self.uid:
            d["uid"] = self.uid
        if self.groups:
            d["groups"] = list(self.groups)
        if self.extra:
            d["extra"] = self.extra
        return d


@dataclass
class AdmissionAttributes:
    operation: str            # CREATE, UPDATE, DELETE, CONNECT
    resource: Resource
    subresource: str
    namespace: str
    name: str
    obj: dict | None
    old_obj: dict | None
    user: UserInfo | None
    dry_run: bool
    options: dict = field(default_factory=dict)


class Admission(Protocol):
    async def admit(self, a: AdmissionAttributes) -> None: ...

    async def validate(self, a: AdmissionAttributes) -> None: ...


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    user: UserInfo | None = None
    subresource: str = ""
    warnings: list[str] = field(default_factory=list)
    track_fields: bool = True


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False
    user: UserInfo | None = None


ManagedFieldsFn = Callable[[dict | None, dict, str, str, str, str], list]


class Store:
    def __init__(self, resource: Resource, strategy: Strategy, backend: Backend, *,
                 admission: Admission | None = None,
                 managed_fields: ManagedFieldsFn | None = None,
                 status_strategy: Strategy | None = None, transformer=None):
        self.resource = resource
        self.strategy = strategy
        self.status_strategy = status_strategy
        self.backend = backend
        self.admission = admission
        self.managed_fields = managed_fields
        self.transformer = transformer      # encryption at rest (Secrets), or None
        self.stale_keys: set[str] = set()   # values not written with the current primary key
        self.cacher = Cacher(backend, resource.key_prefix, self.decode)
        self._supported_fields = set(strategy.selectable_fields({"metadata": {}, "spec": {}, "status": {}}))

    # -- encoding ---------------------------------------------------------------------------
    def key(self, namespace: str, name: str) -> str:
        return self.resource.key(namespace, name)

    def prefix(self, namespace: str) -> str:
        if self.resource.namespaced and namespace:
            return f"{self.resource.key_prefix}{namespace}/"
        return self.resource.key_prefix

    def decode(self, kv: KeyValue) -> dict:
        value = kv.value
        if self.transformer is not None:
            value, stale = self.transformer.decrypt(value, kv.key.encode())
            if stale:
                self.stale_keys.add(kv.key)
            else:
                self.stale_keys.discard(kv.key)
        obj = orjson.loads(value)
        obj["metadata"]["resourceVersion"] = str(kv.mod_revision)
        return obj

    def encode(self, obj: dict) -> bytes:
        md = obj["metadata"]
        rv = md.pop("resourceVersion", None)
        try:
            data = orjson.dumps(obj)
        finally:
            if rv is not None:
                md["resourceVersion"] = rv
        if self.transformer is not None:
            data = self.transformer.encrypt(data, self.key(md.get("namespace", ""), md["name"]).encode())
        return data

    async def rewrite_stale(self) -> int:
        """Rewrite values not encrypted with the primary key (after a key rotation)."""
        n = 0
        for key in list(self.stale_keys):
            _, kv = await self.backend.get(key)
            if kv is None:
                self.stale_keys.discard(key)
                continue
            obj = self.decode(kv)
            _, _, ok = await self.backend.update(key, self.encode(obj), expected_revision=kv.mod_revision)
            if ok:
                self.stale_keys.discard(key)
                n += 1
        return n

    def _gr(self) -> tuple[str, str]:
        return self.resource.group, self.resource.plural

    def not_found(self, name: str) -> StatusError:
        return errors.new_not_found(self.resource.group, self.resource.plural, name)

    # -- selection ------------------------------------------------------------------------------
    def predicate(self, namespace: str, label_selector: str | None, field_selector: str | None):
        try:
            lsel = labels.parse(label_selector)
        except labels.SelectorError as e:
            raise errors.new_bad_request(str(e)) from None
        try:
            fsel = fields.parse(field_selector)
        except fields.FieldSelectorError as e:
            raise errors.new_bad_request(str(e)) from None
        for f in fsel.fields():
            if f not in self._supported_fields:
                raise errors.new_bad_request(f'field label not supported: {f}')
        ns = namespace if self.resource.namespaced else ""
        strategy = self.strategy

        if lsel.empty() and fsel.empty():
            if not ns:
                return _all
            return lambda o: o["metadata"].get("namespace") == ns

        def pred(o: dict) -> bool:
            md = o["metadata"]
            if ns and md.get("namespace") != ns:
                return False
            if not lsel.matches(md.get("labels")):
                return False
            return fsel.empty() or fsel.matches(strategy.selectable_fields(o))

        return pred

    # -- reads ---------------------------------------------------------------------------------
    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> dict:
        if resource_version == "0":
            obj = self.cacher.get(self.key(namespace, name))
            if obj is not None:
                return copy.deepcopy(obj)
        _, kv = await self.backend.get(self.key(namespace, name))
        if kv is None:
            raise self.not_found(name)
        return self.decode(kv)

    async def get_or_none(self, namespace: str, name: str) -> dict | None:
        _, kv = await self.backend.get(self.key(namespace, name))
        return self.decode(kv) if kv is not None else None

    async def list(self, namespace: str, *, label_selector: str | None = None, field_selector: str | None = None,
                   limit: int = 0, continue_token: str | None = None, resource_version: str = "",
                   resource_version_match: str = "") -> tuple[list[dict], str, str, int | None]:
        """Return (items, list resourceVersion, continue token, remaining item count)."""
        pred = self.predicate(namespace, label_selector, field_selector)
        prefix = self.prefix(namespace)
        if continue_token:
            rev, start = _decode_continue(continue_token, prefix)
            return await self._list_backend(prefix, pred, limit, start, rev)
        if resource_version and resource_version_match != "Exact":
            want = _parse_rv(resource_version)
            if (want == 0 or await self.cacher.wait_fresh(want)) and self.cacher._ready.is_set():
                rv, items = self.cacher.list(prefix, pred)
                return items, str(rv), "", None
        exact = _parse_rv(resource_version) if resource_version_match == "Exact" else 0
        return await self._list_backend(prefix, pred, limit, prefix, exact)

    async def _list_backend(self, prefix: str, pred, limit: int, start: str, revision: int):
        out: list[dict] = []
        chunk = max(limit, 500) if limit else 0
        key = start
        list_rev = revision
        try:
            while True:
                rev, kvs = await self.backend.list(prefix, start_key=key, limit=chunk + 1 if chunk else 0,
                                                    revision=list_rev)
                if not list_rev:
                    list_rev = rev
                more = bool(chunk) and len(kvs) > chunk
                if more:
                    kvs = kvs[:chunk]
                for i, kv in enumerate(kvs):
                    obj = self.decode(kv)
                    if pred(obj):
                        out.append(obj)
                        if limit and len(out) == limit:
                            if i + 1 < len(kvs) or more:
                                nxt = kvs[i + 1].key if i + 1 < len(kvs) else kvs[-1].key + "\x00"
                                return out, str(list_rev), _encode_continue(list_rev, nxt, prefix), None
                            return out, str(list_rev), "", None
                if not more:
                    return out, str(list_rev), "", None
                key = kvs[-1].key + "\x00"
        except Compacted:
            raise errors.new_resource_expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a "
                "new list without the continue parameter.") from None

    # -- create ----------------------------------------------------------------------------------
    async def create(self, namespace: str, obj: dict, opts: WriteOptions) -> dict:
        r = self.resource
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise errors.new_bad_request("metadata must be an object")
        if r.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise errors.new_bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = namespace or md.get("namespace") or ""
        else:
            md.pop("namespace", None)
        obj["apiVersion"] = r.api_version
        obj["kind"] = r.kind
        self.strategy.default(obj)
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(secrets.choice(_GEN_ALPHABET) for _ in range(5))
        name = md.get("name", "")
        if self.admission:
            await self.admission.admit(AdmissionAttributes("CREATE", r, "", md.get("namespace", ""), name, obj,
                                                           None, opts.user, opts.dry_run,
                                                           {"warnings": opts.warnings}))
        # BeforeCreate (a resourceVersion is refused by storage below, after validation, as
        # Kubernetes' storage does)
        sent_rv = md.get("resourceVersion")
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            md.pop(k, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = timeutil.rfc3339()
        md.pop("generation", None)
        self.strategy.prepare_for_create(obj)
        errs = self.strategy.validate(obj)
        if errs:
            raise errors.new_invalid(r.group, r.kind, name, errs)
        opts.warnings.extend(self.strategy.warnings_on_create(obj))
        if self.admission:
            await self.admission.validate(AdmissionAttributes("CREATE", r, "", md.get("namespace", ""), name, obj,
                                                              None, opts.user, opts.dry_run,
                                                              {"warnings": opts.warnings}))
        self._track_fields(None, obj, opts, "Update")
        self.strategy.canonicalize(obj)
        if opts.dry_run:
            if await self.get_or_none(md.get("namespace", ""), name) is not None:
                raise errors.new_already_exists(r.group, r.plural, name)
            return obj
        if sent_rv:
            raise errors.StatusError(500, errors.StatusReason.UNKNOWN,
                                     "resourceVersion should not be set on objects to be created")
        try:
            rev = await self.backend.create(self.key(md.get("namespace", ""), name), self.encode(obj))
        except KeyExists:
            raise errors.new_already_exists(r.group, r.plural, name) from None
        md["resourceVersion"] = str(rev)
        return obj

    def _track_fields(self, old: dict | None, new: dict, opts: WriteOptions, operation: str) -> None:
        if self.managed_fields is None or not opts.track_fields:
            return
        manager = opts.field_manager or "unknown"
        try:
            mf = self.managed_fields(old, new, manager, operation, self.resource.api_version, opts.subresource)
        except StatusError:
            raise
        except Exception:  # never fail a write on bookkeeping
            log.exception("managed fields tracking failed for %s", self.resource.plural)
            return
        if mf:
            new["metadata"]["managedFields"] = mf
        else:
            new["metadata"].pop("managedFields", None)

    # -- update ----------------------------------------------------------------------------------
    async def update(self, namespace: str, name: str, new_obj: dict | None, opts: WriteOptions, *,
                     patch: Callable[[dict], Awaitable[dict] | dict] | None = None,
                     strategy: Strategy | None = None,
                     create_fn: Callable[[], Awaitable[dict]] | None = None,
                     operation: str = "Update") -> tuple[dict, bool]:
        """Update (or with `patch`, patch) an object. Returns (object, created)."""
        r = self.resource
        strategy = strategy or self.strategy
        key = self.key(namespace, name)
        for _attempt in range(_MAX_UPDATE_RETRIES):
            _, kv = await self.backend.get(key)
            if kv is None:
                if create_fn is not None:
                    return await create_fn(), True
                if new_obj is not None and strategy.allow_create_on_update and patch is None:
                    obj = copy.deepcopy(new_obj)
                    obj.setdefault("metadata", {})["name"] = name
                    return await self.create(namespace, obj, opts), True
                raise self.not_found(name)
            old = self.decode(kv)
            if patch is not None:
                res = patch(copy.deepcopy(old))
                new = await res if hasattr(res, "__await__") else res  # type: ignore[misc]
            else:
                new = copy.deepcopy(new_obj)  # type: ignore[arg-type]
            if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
                raise errors.new_bad_request("the object must be a JSON object with metadata")
            md = new.setdefault("metadata", {})
            pinned = md.get("resourceVersion") or ""
            if patch is not None and pinned == old["metadata"]["resourceVersion"]:
                # The patched object kept the stored resourceVersion: the client did not pin one, so a
                # lost race is retried against the fresh object instead of failing with a conflict.
                pinned = ""
                md["resourceVersion"] = ""
            if pinned and pinned != old["metadata"]["resourceVersion"]:
                raise errors.new_optimistic_conflict(r.group, r.plural, name)
            if not pinned and not strategy.allow_unconditional_update and patch is None:
                raise errors.new_invalid(r.group, r.kind, name, [errors.required(
                    "metadata.resourceVersion", "must be specified for an update")])
            if md.get("uid") and md["uid"] != old["metadata"].get("uid"):
                raise errors.new_conflict(r.group, r.plural, name,
                                          f"Precondition failed: UID in precondition: {md['uid']}, "
                                          f"UID in object meta: {old['metadata'].get('uid')}")
            if md.get("name") and md["name"] != name:
                raise errors.new_bad_request(
                    f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
            if r.namespaced and md.get("namespace") and md["namespace"] != namespace:
                raise errors.new_bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request")
            new["apiVersion"] = r.api_version
            new["kind"] = r.kind
            md["name"] = name
            if r.namespaced:
                md["namespace"] = namespace
            strategy.default(new)
            if self.admission:
                await self.admission.admit(AdmissionAttributes("UPDATE", r, opts.subresource, namespace, name, new,
                                                               old, opts.user, opts.dry_run))
            # BeforeUpdate: system fields come from the stored object.
            omd = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "generation"):
                if k in omd:
                    md[k] = omd[k]
                else:
                    md.pop(k, None)
            md["resourceVersion"] = omd["resourceVersion"]
            if md.get("generateName") is None and omd.get("generateName"):
                md["generateName"] = omd["generateName"]
            strategy.prepare_for_update(new, old)
            errs = strategy.validate_update(new, old)
            if errs:
                raise errors.new_invalid(r.group, r.kind, name, errs)
            opts.warnings.extend(strategy.warnings_on_update(new, old))
            if self.admission:
                await self.admission.validate(AdmissionAttributes("UPDATE", r, opts.subresource, namespace, name,
                                                                  new, old, opts.user, opts.dry_run,
                                                                  {"warnings": opts.warnings}))
            self._track_fields(old, new, opts, operation)
            strategy.canonicalize(new)
            if _same(new, old):
                return old, False
            md = new["metadata"]
            if md.get("deletionTimestamp") and not md.get("finalizers") and strategy.ready_to_delete(new) \
                    and self.strategy.ready_to_delete(new):
                if opts.dry_run:
                    return new, False
                _, cur, ok = await self.backend.delete(key, expected_revision=kv.mod_revision)
                if ok:
                    return new, False
                continue
            if opts.dry_run:
                return new, False
            rev, _, ok = await self.backend.update(key, self.encode(new), expected_revision=kv.mod_revision)
            if ok:
                md["resourceVersion"] = str(rev)
                return new, False
            if pinned:
                raise errors.new_optimistic_conflict(r.group, r.plural, name)
        raise errors.new_conflict(r.group, r.plural, name, "too many concurrent updates; please try again")

    # -- delete ----------------------------------------------------------------------------------
    async def delete(self, namespace: str, name: str, options: DeleteOptions) -> tuple[dict, bool]:
        """Delete or mark for deletion. Returns (object, deleted now)."""
        r = self.resource
        key = self.key(namespace, name)
        for _attempt in range(_MAX_UPDATE_RETRIES):
            _, kv = await self.backend.get(key)
            if kv is None:
                raise self.not_found(name)
            obj = self.decode(kv)
            md = obj["metadata"]
            if options.precondition_uid and options.precondition_uid != md.get("uid"):
                raise errors.new_conflict(r.group, r.plural, name,
                                          f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                                          f"UID in object meta: {md.get('uid')}")
            if options.precondition_rv and options.precondition_rv != md.get("resourceVersion"):
                raise errors.new_conflict(r.group, r.plural, name,
                                          f"Precondition failed: ResourceVersion in precondition: "
                                          f"{options.precondition_rv}, ResourceVersion in object meta: "
                                          f"{md.get('resourceVersion')}")
            if self.admission:
                await self.admission.validate(AdmissionAttributes("DELETE", r, "", namespace, name, None, obj,
                                                                  options.user, options.dry_run))
            policy = options.propagation_policy
            if policy is None and options.orphan_dependents is not None:
                policy = "Orphan" if options.orphan_dependents else "Background"
            finalizers = list(md.get("finalizers") or [])
            changed = False
            if policy == "Orphan" and "orphan" not in finalizers:
                finalizers.append("orphan")
                changed = True
            elif policy == "Foreground" and "foregroundDeletion" not in finalizers:
                finalizers.append("foregroundDeletion")
                changed = True
            if policy in ("Background",) and md.get("deletionTimestamp"):
                for f in ("orphan", "foregroundDeletion"):
                    if f in finalizers:
                        finalizers.remove(f)
                        changed = True
            grace = self.strategy.graceful_delete_seconds(obj, options.grace_period_seconds)
            if md.get("deletionTimestamp") and not changed:
                # Already being deleted: a shorter grace period speeds it up; it goes now only if no
                # finalizer holds it and the strategy agrees (pods: grace has reached 0).
                cur_grace = md.get("deletionGracePeriodSeconds") or 0
                if grace < cur_grace:
                    md["deletionGracePeriodSeconds"] = grace
                    md["deletionTimestamp"] = timeutil.rfc3339(timeutil.now() + timedelta(seconds=grace))
                    changed = True
                if finalizers or not self.strategy.ready_to_delete(obj):
                    if not changed or options.dry_run:
                        return obj, False
                    rev, _, ok = await self.backend.update(key, self.encode(obj), expected_revision=kv.mod_revision)
                    if not ok:
                        continue
                    md["resourceVersion"] = str(rev)
                    return obj, False
                if options.dry_run:
                    return obj, True
                rev, _, ok = await self.backend.delete(key, expected_revision=kv.mod_revision)
                if ok:
                    return obj, True
                continue
            if finalizers or grace > 0 or not self.strategy.ready_to_delete(obj):
                if options.dry_run:
                    return obj, False
                now = timeutil.now()
                if not md.get("deletionTimestamp"):
                    self.strategy.on_mark_deleted(obj)
                if grace > 0:
                    md["deletionTimestamp"] = timeutil.rfc3339(now + timedelta(seconds=grace))
                    md["deletionGracePeriodSeconds"] = grace
                else:
                    md.setdefault("deletionTimestamp", timeutil.rfc3339(now))
                    md["deletionGracePeriodSeconds"] = 0
                if finalizers:
                    md["finalizers"] = finalizers
                else:
                    md.pop("finalizers", None)
                rev, _, ok = await self.backend.update(key, self.encode(obj), expected_revision=kv.mod_revision)
                if not ok:
                    continue
                md["resourceVersion"] = str(rev)
                return obj, False
            if options.dry_run:
                return obj, True
            rev, _, ok = await self.backend.delete(key, expected_revision=kv.mod_revision)
            if ok:
                return obj, True
        raise errors.new_conflict(r.group, r.plural, name, "too many concurrent updates; please try again")

    # -- watch -----------------------------------------------------------------------------------
    def watch(self, namespace: str, *, label_selector: str | None, field_selector: str | None,
              resource_version: str):
        pred = self.predicate(namespace, label_selector, field_selector)
        rv = _parse_rv(resource_version)
        return self.cacher.watch(rv, self.prefix(namespace), pred)


def _all(_: dict) -> bool:
    return True


def _parse_rv(rv: str | None) -> int:
    if not rv:
        return 0
    try:
        v = int(rv)
    except ValueError:
        raise errors.new_bad_request(f'invalid resource version "{rv}"') from None
    if v < 0:
        raise errors.new_bad_request(f'invalid resource version "{rv}"')
    return v


def _same(a: dict, b: dict) -> bool:
    """A no-op update: equal apart from managedFields timestamps."""
    if a == b:
        return True
    ma, mb = a.get("metadata", {}), b.get("metadata", {})
    if "managedFields" not in ma and "managedFields" not in mb:
        return False
    a2 = dict(a, metadata={k: v for k, v in ma.items() if k != "managedFields"})
    b2 = dict(b, metadata={k: v for k, v in mb.items() if k != "managedFields"})
    if a2 != b2:
        return False
    strip = lambda mf: [{k: v for k, v in e.items() if k != "time"} for e in (mf or [])]  # noqa: E731
    return strip(ma.get("managedFields")) == strip(mb.get("managedFields"))


def _encode_continue(rev: int, start_key: str, prefix: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rev, "start": start_key[len(prefix):]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str, prefix: str) -> tuple[int, str]:
    try:
        pad = "=" * (-len(token) % 4)
        d = orjson.loads(base64.urlsafe_b64decode(token + pad))
        rev = int(d["rv"])
        start = str(d["start"])
        if d.get("v") != "meta.k8s.io/v1" or rev <= 0:
            raise ValueError
    except Exception:
        raise errors.new_bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                                     "(version meta.k8s.io/v1)") from None
    if start.startswith("/"):
        raise errors.new_bad_request("continue key is not valid: key must not start with '/'")
    return rev, prefix + start
