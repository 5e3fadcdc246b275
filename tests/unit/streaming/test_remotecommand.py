import json

import pytest
from multidict import MultiDict

from kubelite.streaming import remotecommand as rc
from kubelite.streaming.portforward import forward_error, parse_ports


def q(*pairs):
    return MultiDict(pairs)


def test_options_from_query():
    o = rc.Options.from_query(q(("command", "sh"), ("command", "-c"), ("command", "exit 3"), ("stdout", "true"),
                                ("stderr", "true")), need_command=True)
    assert o.command == ["sh", "-c", "exit 3"] and o.stdout and o.stderr and not o.stdin and not o.tty


def test_tty_drops_stderr():
    o = rc.Options.from_query(q(("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "true")))
    assert o.tty and not o.stderr


@pytest.mark.parametrize("query,message", [
    (q(("command", "ls")), "you must specify at least 1 of stdin, stdout, stderr"),
    (q(("stdout", "true")), "you must specify a command"),
])
def test_bad_options(query, message):
    with pytest.raises(rc.BadRequest, match=message):
        rc.Options.from_query(query, need_command=True)


def test_success_status():
    assert json.loads(rc.error_payload(None, True)) == {"metadata": {}, "status": "Success"}
    assert rc.error_payload(None, False) == b""


def test_exit_code_status_makes_kubectl_exit_with_it():
    st = json.loads(rc.error_payload(rc.ExitError(3, ["sh", "-c", "exit 3"]), True))
    assert st["status"] == "Failure" and st["reason"] == "NonZeroExitCode"
    assert st["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert st["message"].startswith("command terminated with non-zero exit code: ")


def test_other_errors_are_internal_errors():
    st = rc.status_for(RuntimeError("container is not running"))
    assert st["reason"] == "InternalError" and st["code"] == 500
    assert "container is not running" in st["message"]
    assert rc.error_payload(RuntimeError("boom"), False) == b"boom"


def test_resize_messages():
    sizes, rest = rc.decode_resizes(b'{"Width":80,"Height":24}{"Width":100,"Height":30}{"Wid')
    assert sizes == [(80, 24), (100, 30)] and rest == b'{"Wid'
    assert rc.decode_resizes(rest + b'th":1,"Height":2}') == ([(1, 2)], b"")


def test_ports():
    assert parse_ports(["80,443", "8080"]) == [80, 443, 8080]
    with pytest.raises(ValueError, match='invalid port "http"'):
        parse_ports(["http"])
    with pytest.raises(ValueError):
        parse_ports(["70000"])


def test_forward_error_message():
    e = ConnectionRefusedError(111, "failed to connect to localhost:80")
    assert forward_error(80, "abc", e) == "error forwarding port 80 to pod abc, uid : failed to connect to localhost:80"
