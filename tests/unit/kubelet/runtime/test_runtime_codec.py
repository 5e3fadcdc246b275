import json

from kubelite.kubelet.runtime.codec import from_dict, to_dict
from kubelite.kubelet.runtime.interface import (
    ContainerConfig,
    ContainerImage,
    DNSConfig,
    KeyValue,
    Mount,
    MountPropagation,
    PodSandboxConfig,
    PortMapping,
    Seccomp,
    SecurityContext,
)


def test_round_trip_through_json():
    cfg = ContainerConfig(
        name="c", image=ContainerImage(image="busybox", config={"Cmd": ["sh"]}, lowerdirs=["/l1"]),
        envs=[KeyValue("A", "1")], mounts=[Mount("/data", "/host", True, MountPropagation.HOST_TO_CONTAINER)],
        security=SecurityContext(run_as_user=5, seccomp=Seccomp.UNCONFINED, masked_paths=[]),
    )
    back = from_dict(ContainerConfig, json.loads(json.dumps(to_dict(cfg))))
    assert back == cfg
    assert back.mounts[0].propagation is MountPropagation.HOST_TO_CONTAINER
    sb = PodSandboxConfig(name="p", namespace="n", uid="u", dns_config=DNSConfig(servers=["198.18.0.10"]),
                          port_mappings=[PortMapping(80, 8080)])
    assert from_dict(PodSandboxConfig, json.loads(json.dumps(to_dict(sb)))) == sb


def test_unknown_keys_are_ignored_and_missing_take_defaults():
    assert from_dict(KeyValue, {"key": "k", "value": "v", "extra": 1}) == KeyValue("k", "v")
    assert from_dict(SecurityContext, {}).seccomp == Seccomp.RUNTIME_DEFAULT


def test_container_image_from_image_store():
    from kubelite.images.interface import Image

    img = Image(id="sha256:" + "a" * 64, digest="sha256:" + "b" * 64, repo_tags=["docker.io/library/busybox:latest"],
                config={"config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]}})
    ci = ContainerImage.from_image(img, ["/layers/1", "/layers/2"])
    assert ci.image == "docker.io/library/busybox:latest" and ci.image_id == img.id
    assert ci.config == {"Cmd": ["sh"], "Env": ["PATH=/bin"]} and ci.lowerdirs == ["/layers/1", "/layers/2"]
