import signal

import pytest

from kubelite.kubelet.runtime.errors import InvalidArgument
from kubelite.kubelet.runtime.interface import ContainerConfig, ContainerImage, KeyValue, SecurityContext
from kubelite.kubelet.runtime.resolve import (
    DEFAULT_PATH,
    parse_signal,
    resolve_args,
    resolve_env,
    resolve_stop_signal,
    resolve_user,
    resolve_working_dir,
)

IMAGE = {"Entrypoint": ["/entry"], "Cmd": ["--flag"]}


@pytest.mark.parametrize(
    "command,args,image,want",
    [
        ([], [], IMAGE, ["/entry", "--flag"]),
        (["/bin/app"], [], IMAGE, ["/bin/app"]),
        ([], ["x"], IMAGE, ["/entry", "x"]),
        (["/bin/app"], ["x"], IMAGE, ["/bin/app", "x"]),
        ([], [], {"Cmd": ["sh"]}, ["sh"]),
        ([], ["a"], {}, ["a"]),
    ],
    ids=["image-defaults", "command-drops-cmd", "args-keep-entrypoint", "both", "cmd-only", "args-no-image"],
)
def test_resolve_args(command, args, image, want):
    assert resolve_args(command, args, image) == want


def test_resolve_args_empty_is_invalid():
    with pytest.raises(InvalidArgument):
        resolve_args([], [], {})


def test_resolve_env_precedence_keeps_position():
    env = resolve_env("web-0", {"Env": ["PATH=/img", "A=1", "B=2"]}, [KeyValue("A", "x"), KeyValue("C", "3")])
    assert env == ["PATH=/img", "HOSTNAME=web-0", "A=x", "B=2", "C=3"]
    assert resolve_env("", {}, [])[0] == f"PATH={DEFAULT_PATH}"


def test_resolve_working_dir():
    assert resolve_working_dir("", {}) == "/"
    assert resolve_working_dir("", {"WorkingDir": "/app"}) == "/app"
    assert resolve_working_dir("/w", {"WorkingDir": "/app"}) == "/w"


@pytest.mark.parametrize("name,want", [("SIGTERM", 15), ("TERM", 15), ("9", 9), ("sigquit", 3),
                                       ("SIGRTMIN+3", signal.SIGRTMIN + 3)])
def test_parse_signal(name, want):
    assert parse_signal(name) == want


def test_stop_signal_order():
    cfg = ContainerConfig(name="c", image=ContainerImage(config={"StopSignal": "SIGQUIT"}))
    assert resolve_stop_signal(cfg) == signal.SIGQUIT
    cfg.stop_signal = "SIGINT"
    assert resolve_stop_signal(cfg) == signal.SIGINT
    assert resolve_stop_signal(ContainerConfig(name="c")) == signal.SIGTERM
    with pytest.raises(InvalidArgument):
        parse_signal("SIGNOPE")


PASSWD = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/:/bin/sh\n"
GROUP = "root:x:0:\nwww:x:33:\nstaff:x:50:www,other\n"


@pytest.mark.parametrize(
    "security,image_user,want",
    [
        (SecurityContext(), "", (0, 0, [])),
        (SecurityContext(), "www", (33, 33, [50])),
        (SecurityContext(), "1234", (1234, 0, [])),
        (SecurityContext(), "33:50", (33, 50, [50])),
        (SecurityContext(), "www:root", (33, 0, [50])),
        (SecurityContext(run_as_user=33), "root", (33, 33, [50])),
        (SecurityContext(run_as_user=1000, run_as_group=2000, supplemental_groups=[7]), "", (1000, 2000, [7])),
        (SecurityContext(run_as_username="www", supplemental_groups=[50, 8]), "", (33, 33, [50, 8])),
    ],
    ids=["default-root", "image-name", "image-uid-unknown", "uid-gid", "name-group", "runasuser-wins",
         "runas-user-group", "username"],
)
def test_resolve_user(security, image_user, want):
    u = resolve_user(security, image_user, PASSWD, GROUP)
    assert (u.uid, u.gid, u.additional_gids) == want


@pytest.mark.parametrize("image_user", ["nobody", "www:nogroup"])
def test_resolve_user_unknown_names(image_user):
    with pytest.raises(InvalidArgument):
        resolve_user(SecurityContext(), image_user, PASSWD, GROUP)
