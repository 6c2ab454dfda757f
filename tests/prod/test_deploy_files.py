"""`deploy/` describes the topology `make run-prod` runs: same processes, commands, environment.

Docker and a Kubernetes cluster are not available here, so what can drift is checked instead:
each container runs the command `ops.topology` builds for its role, with exactly the variables
that role reads; the rendered nginx and ConfigMap files are current; the balancer's upstreams
and Rasa's action URL name services that exist; the image installs what the Makefile installs.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import deploy_files, nginx
from ops.topology import (
    ACTION_ENDPOINT,
    ACTIONS_PORT,
    ENVIRONMENT,
    RASA_PORT,
    ROOT,
    Stores,
    actions_command,
    endpoints,
    endpoints_yaml,
    postgres_url,
    rasa_command,
)

DEPLOY = ROOT / "deploy"
MODEL = "models/genesis.tar.gz"
ENDPOINTS = "deploy/endpoints.yml"
RASA_COMMAND = rasa_command("python", model=MODEL, host="0.0.0.0", port=RASA_PORT)
ACTIONS_COMMAND = actions_command("python", host="0.0.0.0", port=ACTIONS_PORT)
NGINX_COMMAND = ["nginx", "-e", "stderr", "-g", "daemon off;"]
MIGRATE_COMMAND = ["python", "-m", "portal_core.cli", "migrate"]


def endpoint_variables() -> set[str]:
    """The `${VAR}`s Rasa reads from its environment when it loads deploy/endpoints.yml."""
    document = yaml.safe_load((DEPLOY / "endpoints.yml").read_text())
    values = [v for section in document.values() for v in section.values()]
    return {m for v in values for m in re.findall(r"\$\{(\w+)\}", str(v))}


def expected_env(role: str) -> set[str]:
    names = set(ENVIRONMENT[role])
    return names | endpoint_variables() if role == "rasa" else names


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def k8s_documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return documents


def k8s(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} defined {len(found)} times"
    return found[0]


def upstream_servers(conf: str, upstream: str) -> list[str]:
    block = re.search(r"upstream " + upstream + r" \{(.*?)\}", conf, re.S)
    assert block, f"no upstream {upstream}"
    return re.findall(r"server (\S+?)[ ;]", block.group(1))


# --- rendered files ------------------------------------------------------------------------


def test_the_rendered_deploy_files_are_current() -> None:
    for path, text in deploy_files.rendered().items():
        assert path.read_text() == text, f"{path} is stale: run python -m ops.deploy_files"


def test_a_template_placeholder_without_a_value_is_an_error() -> None:
    site = deploy_files.compose_site()
    with pytest.raises(ValueError, match="disagree"):
        nginx.render(site, template=nginx.TEMPLATE.read_text() + "\n# {{ surprise }}\n")
    with pytest.raises(ValueError, match="disagree"):
        nginx.render(site, template=nginx.TEMPLATE.read_text().replace("{{ pid_file }}", "x"))


def test_the_loopback_configuration_passes_nginx_t(tmp_path: Path) -> None:
    if nginx.binary() is None:
        pytest.skip("nginx is not installed (scripts/install-nginx; make test installs it)")
    from ops.topology import DEFAULT_LAYOUT

    site = nginx.loopback_site(DEFAULT_LAYOUT, tmp_path)
    config = nginx.write_config(site, tmp_path)
    checked = nginx.check(config, tmp_path)
    assert checked.returncode == 0, checked.stderr
    text = "\n".join(
        line for line in config.read_text().splitlines() if not line.strip().startswith("#")
    )
    assert upstream_servers(text, "rasa") == ["127.0.0.1:5105", "127.0.0.1:5106"]
    assert upstream_servers(text, "actions") == ["127.0.0.1:5155", "127.0.0.1:5156"]
    assert "ip_hash" not in text and "sticky" not in text and "hash " not in text


# --- docker-compose ------------------------------------------------------------------------


def test_compose_runs_the_topology_processes_with_their_commands() -> None:
    services = compose()["services"]
    assert set(services) == {
        "postgres", "redis", "migrate", "nginx", "rasa-1", "rasa-2", "actions-1", "actions-2",
    }  # fmt: skip
    for name in ("rasa-1", "rasa-2"):
        assert services[name]["command"] == RASA_COMMAND
        assert set(services[name]["environment"]) == expected_env("rasa")
    for name in ("actions-1", "actions-2"):
        assert services[name]["command"] == ACTIONS_COMMAND
        assert set(services[name]["environment"]) == expected_env("actions")
    assert services["migrate"]["command"] == MIGRATE_COMMAND
    assert services["nginx"]["command"] == NGINX_COMMAND
    assert nginx.command(Path("c"), Path("r"))[-4:] == NGINX_COMMAND[1:]


def test_the_compose_balancer_points_at_the_compose_replicas() -> None:
    services = compose()["services"]
    action_url = services["rasa-1"]["environment"]["GENESIS_ACTION_URL"]
    assert re.fullmatch(r"http://nginx:5055/webhook", action_url)
    conf = (DEPLOY / "nginx.compose.conf").read_text()
    rasa = [s.split(":")[0] for s in upstream_servers(conf, "rasa")]
    actions = [s.split(":")[0] for s in upstream_servers(conf, "actions")]
    assert rasa == sorted(n for n in services if n.startswith("rasa-"))
    assert actions == sorted(n for n in services if n.startswith("actions-"))
    mount = services["nginx"]["volumes"][0].split(":")
    assert (DEPLOY / mount[0]).resolve() == (DEPLOY / "nginx.compose.conf").resolve()
    assert mount[1] == "/etc/nginx/nginx.conf"


def test_compose_creates_the_databases_the_services_use() -> None:
    services = compose()["services"]
    rasa_env = services["rasa-1"]["environment"]
    postgres_env = services["postgres"]["environment"]
    init = (DEPLOY / "postgres-init" / "10-tracker-database.sql").read_text()
    assert f"CREATE DATABASE {rasa_env['TRACKER_DB_NAME']};" in init
    assert services["actions-1"]["environment"]["PORTAL_DATABASE_URL"].endswith(
        "/" + postgres_env["POSTGRES_DB"]
    )
    assert rasa_env["TRACKER_DB_HOST"] == "postgres" and rasa_env["REDIS_HOST"] == "redis"


# --- Kubernetes ----------------------------------------------------------------------------


def container(deployment: str) -> dict[str, Any]:
    containers = k8s("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_kubernetes_runs_the_topology_processes_with_their_commands() -> None:
    assert container("rasa")["command"] == RASA_COMMAND
    assert container("actions")["command"] == ACTIONS_COMMAND
    assert container("nginx")["command"] == NGINX_COMMAND
    job = k8s("Job", "genesis-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == MIGRATE_COMMAND
    for role in ("rasa", "actions"):
        assert {e["name"] for e in container(role)["env"]} == expected_env(role)
    assert k8s("Deployment", "rasa")["spec"]["replicas"] >= 2
    assert k8s("Deployment", "actions")["spec"]["replicas"] >= 2


def test_kubernetes_services_are_what_the_balancer_and_rasa_call() -> None:
    configmap = k8s("ConfigMap", deploy_files.CONFIGMAP_NAME)
    conf = configmap["data"]["nginx.conf"]
    for upstream, port in (("rasa", RASA_PORT), ("actions", ACTIONS_PORT)):
        (server,) = upstream_servers(conf, upstream)
        assert server == f"{upstream}:{port}"
        service = k8s("Service", upstream)
        assert service["spec"]["selector"] == {"app": upstream}
        assert [p["port"] for p in service["spec"]["ports"]] == [port]
    assert configmap["data"]["endpoints.yml"] == (DEPLOY / "endpoints.yml").read_text()
    action_url = next(
        e["value"] for e in container("rasa")["env"] if e["name"] == "GENESIS_ACTION_URL"
    )
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)/webhook", action_url).groups()
    assert int(port) in [p["port"] for p in k8s("Service", host)["spec"]["ports"]]
    mounted = {
        v["configMap"]["name"]
        for d in ("rasa", "nginx")
        for v in k8s("Deployment", d)["spec"]["template"]["spec"]["volumes"]
    }
    assert mounted == {deploy_files.CONFIGMAP_NAME}


def test_every_secret_the_manifests_read_is_documented() -> None:
    keys = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for d in k8s_documents()
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
        if "valueFrom" in e
    }
    readme = (ROOT / "README.md").read_text()
    for key in keys:
        assert f"--from-literal={key}=" in readme, f"README doesn't say how to create {key}"


# --- Rasa's endpoints and the image ---------------------------------------------------------


def test_the_deployed_endpoints_say_what_the_topology_says() -> None:
    deployed = yaml.safe_load((DEPLOY / "endpoints.yml").read_text())
    local = endpoints(Stores(portal_url="sqlite://", tracker_url=postgres_url("t")))
    assert set(deployed) == set(local)
    assert deployed["action_endpoint"] == ACTION_ENDPOINT == local["action_endpoint"]
    for section in ("tracker_store", "lock_store"):
        assert set(deployed[section]) - {"password"} == set(local[section])
        for key, value in local[section].items():
            if not str(deployed[section][key]).startswith("${") and key != "url":
                assert deployed[section][key] == value, (section, key)
    services = compose()["services"]
    assert services["rasa-1"]["environment"]["GENESIS_ENDPOINTS_FILE"] == ENDPOINTS
    mount = container("rasa")["volumeMounts"][0]["mountPath"]
    assert mount == f"/app/{ENDPOINTS}"


def test_the_loopback_endpoints_file_is_read_the_same_way_by_rasa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa expands ${VAR} only in plain scalars: the file the runner writes must keep them so."""
    from rasa.shared.utils.io import read_config_file

    path = tmp_path / "endpoints.yml"
    stores = Stores(portal_url="sqlite://", tracker_url=postgres_url("genesis_tracker"))
    path.write_text(endpoints_yaml(endpoints(stores)))
    monkeypatch.setenv("GENESIS_ACTION_URL", "http://127.0.0.1:1/webhook")
    read = read_config_file(str(path))
    assert read["action_endpoint"]["url"] == "http://127.0.0.1:1/webhook"
    assert (
        read["action_endpoint"]["headers"]["X-Genesis-Action-Token"]
        == os.environ["GENESIS_ACTION_TOKEN"]
    )
    assert read["tracker_store"]["db"] == "genesis_tracker"
    with pytest.raises(ValueError, match="quoting"):
        endpoints_yaml({"tracker_store": {"db": "a name: with spaces"}})


def _pip_lines(text: str) -> list[str]:
    return [" ".join(m.split()) for m in re.findall(r"pip install ([^\n&\\]+)", text)]


def test_the_image_installs_and_trains_what_the_makefile_does() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    make_pip = [
        " ".join(a for a in shlex.split(line) if a not in ("--quiet",))
        for line in _pip_lines(makefile.replace("\\\n", " "))
    ]
    image_pip = [
        " ".join(a for a in shlex.split(line) if a not in ("--no-cache-dir",))
        for line in _pip_lines(dockerfile.replace("\\\n", " "))
    ]
    assert image_pip == make_pip
    for words in (
        "train --config config.yml --domain bot/domain.yml --data bot/data",
        "--fixed-model-name genesis",
    ):
        assert words in makefile and words in dockerfile, words


def test_the_image_versions_match_what_runs_here() -> None:
    services = compose()["services"]
    pin = re.search(r"PIN='([\d.]+)-", (ROOT / "scripts" / "install-nginx").read_text())
    assert pin, "scripts/install-nginx has no pin"
    assert services["nginx"]["image"] == f"nginx:{pin.group(1)}"
    assert container("nginx")["image"] == services["nginx"]["image"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7.0"
