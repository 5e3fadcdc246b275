import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from kubelite.bootstrap import tokens
from kubelite.bootstrap.authenticator import BootstrapTokenAuthenticator
from kubelite.machinery import errors

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


class Secrets:
    def __init__(self, *objs):
        self.objs = {o["metadata"]["name"]: o for o in objs}
        self.lookups = 0

    async def get(self, plural, namespace, name):
        assert (plural, namespace) == ("secrets", "kube-system")
        self.lookups += 1
        return self.objs.get(name)


def auth(*secrets):
    store = Secrets(*secrets)
    return BootstrapTokenAuthenticator(store.get, now=lambda: NOW), store


def run(coro):
    return asyncio.run(coro)


def test_valid_token_authenticates_as_bootstrapper():
    bt = tokens.new_token(ttl=timedelta(hours=1), now=NOW)
    a, _ = auth(bt.to_secret())
    user = run(a.authenticate_token(str(bt.token)))
    assert user.username == f"system:bootstrap:{bt.token.id}"
    assert user.groups == ["system:bootstrappers", tokens.DEFAULT_EXTRA_GROUP]


def test_not_a_bootstrap_token_is_left_alone_without_a_lookup():
    a, store = auth()
    assert run(a.authenticate_token("eyJhbGciOi.payload.sig")) is None
    assert run(a.authenticate_token("a" * 64)) is None
    assert store.lookups == 0


@pytest.mark.parametrize("case", ["unknown", "wrong-secret", "no-auth-usage", "deleting"])
def test_refusals_are_plain(case):
    bt = tokens.new_token(ttl=timedelta(hours=1), now=NOW,
                          usages=("signing",) if case == "no-auth-usage" else tokens.USAGES)
    s = bt.to_secret()
    if case == "deleting":
        s["metadata"]["deletionTimestamp"] = "2026-05-01T00:00:00Z"
    a, _ = auth(*([] if case == "unknown" else [s]))
    raw = f"{bt.token.id}.{'0' * 16}" if case == "wrong-secret" else str(bt.token)
    assert run(a.authenticate_token(raw)) is None


def test_expired_token_says_so():
    bt = tokens.new_token(ttl=timedelta(minutes=1), now=NOW - timedelta(minutes=2))
    a, _ = auth(bt.to_secret())
    with pytest.raises(errors.StatusError) as e:
        run(a.authenticate_token(str(bt.token)))
    assert e.value.code == 401 and "expired" in str(e.value) and bt.token.secret not in str(e.value)


def test_expired_token_with_a_wrong_secret_reveals_nothing():
    bt = tokens.new_token(ttl=timedelta(minutes=1), now=NOW - timedelta(minutes=2))
    a, _ = auth(bt.to_secret())
    assert run(a.authenticate_token(f"{bt.token.id}.{'0' * 16}")) is None
