"""`ControllerRefManager`: a controller claims the objects it should own (Kubernetes'
`controller_ref_manager.go`).

For each candidate object:

- owned by another controller: ignored;
- owned by us and matching our selector: claimed;
- owned by us but no longer matching: released (our reference removed), unless we are being
  deleted;
- an orphan that matches, is not being deleted and lives in our namespace: adopted (we become
  its controller), but only after a fresh read of the controller confirms it is not being
  deleted (`can_adopt`, checked once per manager).

Adoption and release are JSON merge patches of `ownerReferences` guarded by the object's
`uid` and `resourceVersion`; a release also drops the manager's `finalizers` (the Job's pod
tracking finalizer). NotFound means the object is gone: not an error. `filters` narrow the
selector (a StatefulSet claims only pods named after it).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from kubelite.machinery import labels
from kubelite.machinery.errors import StatusError, StatusReason, is_invalid, is_not_found

from .ownerrefs import adopt_patch, get_controller_of, new_controller_ref, remove_owner_refs_patch

PatchFn = Callable[[dict, dict], Awaitable[Any]]
Filter = Callable[[dict], bool]


def selector_of(controller: dict) -> labels.Selector:
    """The controller's `spec.selector`; an invalid one selects nothing."""
    try:
        return labels.selector_from_label_selector((controller.get("spec") or {}).get("selector"))
    except labels.SelectorError:
        return labels.Selector.nothing()


def recheck_deletion_timestamp(get_fresh: Callable[[], Awaitable[dict]]) -> Callable[[], Awaitable[None]]:
    """A `can_adopt` check: read the controller again and refuse if it is being deleted."""
    async def check() -> None:
        try:
            obj = await get_fresh()
        except StatusError as e:
            raise StatusError(e.code, e.reason, f"can't recheck DeletionTimestamp: {e}", e.details) from e
        md = obj.get("metadata") or {}
        if md.get("deletionTimestamp"):
            raise StatusError(409, StatusReason.CONFLICT, f"{md.get('namespace', '')}/{md.get('name', '')} "
                                                          f"has just been deleted at {md['deletionTimestamp']}")
    return check


class ControllerRefManager:
    def __init__(self, controller: dict, selector: labels.Selector, api_version: str, kind: str,
                 can_adopt: Callable[[], Awaitable[None]], patch: PatchFn, *, object_kind: str = "Pod",
                 finalizers: tuple[str, ...] = ()) -> None:
        self.controller = controller
        self.selector = selector
        self.api_version = api_version
        self.kind = kind
        self.object_kind = object_kind
        self.finalizers = finalizers
        self._can_adopt = can_adopt
        self._can_adopt_result: BaseException | None | bool = False   # False: not checked yet
        self._patch = patch
        self._adopted: dict[int, dict] = {}     # id(original) -> the object as the adoption left it

    @property
    def uid(self) -> str:
        return self.controller["metadata"]["uid"]

    def _being_deleted(self) -> bool:
        return bool(self.controller["metadata"].get("deletionTimestamp"))

    async def can_adopt(self) -> None:
        if self._can_adopt_result is False:
            try:
                await self._can_adopt()
                self._can_adopt_result = None
            except StatusError as e:
                self._can_adopt_result = e
        if isinstance(self._can_adopt_result, BaseException):
            raise self._can_adopt_result

    async def claim(self, objs: list[dict], filters: tuple[Filter, ...] = ()) -> list[dict]:
        """The objects we own after adopting and releasing; raises the first failure after trying all."""
        claimed: list[dict] = []
        errors: list[BaseException] = []
        for obj in objs:
            try:
                if await self.claim_object(obj, filters):
                    claimed.append(self._adopted.pop(id(obj), obj))
            except StatusError as e:
                errors.append(e)
        if errors:
            raise errors[0]
        return claimed

    def _matches(self, obj: dict, filters: tuple[Filter, ...]) -> bool:
        if not self.selector.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return all(f(obj) for f in filters)

    async def claim_object(self, obj: dict, filters: tuple[Filter, ...] = ()) -> bool:
        md = obj.get("metadata") or {}
        ref = get_controller_of(obj)
        if ref is not None:
            if ref.get("uid") != self.uid:
                return False
            if self._matches(obj, filters):
                return True
            if self._being_deleted():
                return False
            try:
                await self.release(obj)
            except StatusError as e:
                if is_not_found(e):
                    return False
                raise
            return False
        if self._being_deleted() or not self._matches(obj, filters):
            return False
        if md.get("deletionTimestamp"):
            return False
        ns = self.controller["metadata"].get("namespace")
        if ns and ns != md.get("namespace"):
            return False
        try:
            await self.adopt(obj)
        except StatusError as e:
            if is_not_found(e):
                return False
            raise
        return True

    async def adopt(self, obj: dict) -> None:
        md = obj["metadata"]
        try:
            await self.can_adopt()
        except StatusError as e:
            raise StatusError(e.code, e.reason, f"can't adopt {self.object_kind} {md.get('namespace')}/"
                                                f"{md.get('name')} ({md.get('uid')}): {e}", e.details) from e
        ref = new_controller_ref(self.controller, self.api_version, self.kind)
        out = await self._patch(obj, adopt_patch(obj, ref))
        if isinstance(out, dict) and out.get("metadata"):
            self._adopted[id(obj)] = out

    async def release(self, obj: dict) -> None:
        patch = remove_owner_refs_patch(obj, {self.uid}, self.finalizers)
        if patch is None:
            return
        try:
            await self._patch(obj, patch)
        except StatusError as e:
            if is_not_found(e) or is_invalid(e):
                return
            raise
