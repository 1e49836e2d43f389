"""docker/: pinned, multi-stage, non-root images and a compose stack wired to one server and one store.

No Docker daemon or registry is reachable here, so the files are checked, not built.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

DOCKER = Path(__file__).resolve().parents[1] / "docker"


@pytest.mark.parametrize("name", ["Dockerfile.cpu", "Dockerfile.cuda"])
def test_images_are_pinned_multi_stage_and_non_root(name):
    text = (DOCKER / name).read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert len(stages) >= 2  # build stage + runtime stage
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, flags=re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base)  # an exact Python, never :latest
    assert "torch==2.13.0" in text and "-r requirements.lock" in text
    runtime = text[text.rindex("\nFROM ") :]
    user = re.search(r"^USER\s+(\S+)", runtime, flags=re.M)
    assert user and user.group(1) not in ("root", "0")


def test_compose_stack_wires_server_store_and_workers():
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect-server", "minio", "create-bucket", "deploy", "worker-cpu", "worker-gpu-0"} <= set(
        services
    )
    for name, svc in services.items():
        image = svc.get("image", "")
        assert ":" in image and not image.endswith(":latest"), name
    assert "postgresql+asyncpg" in services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    for name in ("deploy", "worker-cpu", "worker-gpu-0"):
        env = services[name]["environment"]
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert env["NASGEN_STORE"].startswith("s3://") and env["NASGEN_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${")  # from docker/.env, never a literal secret
    gpu = services["worker-gpu-0"]
    assert gpu["profiles"] == ["gpu"] and gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert "--gpu" in gpu["command"]


def test_deploy_refuses_a_code_dir_without_the_deployments(tmp_path):
    from deployments.deploy import apply
    from nasgen.errors import ConfigError

    with pytest.raises(ConfigError, match="holds no deployments/prefect.yaml"):
        apply(code_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="gpus and cpu_limit"):
        apply(gpus=0)
