"""The deploy descriptors say what the Procfile says: Heroku (app.json), Render (render.yaml) and a
container (Dockerfile, .dockerignore) start the same command, keep DATA_DIR where it survives,
and never run the server as root. No container runtime runs here, so the Dockerfile is read."""

from __future__ import annotations

import json
import re

import yaml

from tests.support import ROOT


def procfile_command() -> str:
    [line] = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]
    kind, command = line.split(":", 1)
    assert kind == "web"
    return command.strip()


def documented_variables() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def docker_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            env.update(dict(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", arguments)))
    return env


def test_the_procfile_is_the_readme_start_command():
    assert procfile_command() == "gunicorn -c gunicorn.conf.py wsgi:app"


def test_render_blueprint_starts_the_procfile_command_with_a_disk_for_data_dir():
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text(encoding="utf-8"))
    [service] = [service for service in blueprint["services"] if service["type"] == "web"]
    assert service["runtime"] == "python"
    assert service["buildCommand"] == "pip install -r requirements.txt"
    assert service["startCommand"] == procfile_command()
    assert service["healthCheckPath"] == "/health"
    env = {variable["key"]: variable for variable in service["envVars"]}
    assert env["DATA_DIR"]["value"] == service["disk"]["mountPath"]
    assert env["TOKEN_LIST_FILE"]["value"].startswith(service["disk"]["mountPath"] + "/")
    assert env["AUTH_TOKEN"] == {"key": "AUTH_TOKEN", "generateValue": True}
    assert set(env) <= documented_variables()


def test_heroku_app_json_documents_its_variables_and_generates_the_admin_token():
    app = json.loads((ROOT / "app.json").read_text(encoding="utf-8"))
    assert app["name"] and app["description"]
    assert {"url": "heroku/python"} in app["buildpacks"]
    assert "web" in app["formation"]  # its command is the Procfile's
    env = app["env"]
    assert set(env) <= documented_variables(), set(env) - documented_variables()
    assert env["AUTH_TOKEN"]["generator"] == "secret"
    assert all(variable["description"].strip() for variable in env.values())
    # Every other variable has a default: the deploy form must not demand it.
    assert all(variable.get("required") is False for name, variable in env.items() if name != "AUTH_TOKEN")


def test_the_container_runs_the_procfile_command_as_a_user_with_data_dir_a_volume():
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    [cmd] = [arguments for keyword, arguments in instructions if keyword == "CMD"]
    assert " ".join(json.loads(cmd)) == procfile_command()  # exec form: gunicorn gets SIGTERM itself
    assert ("RUN", "pip install -r requirements.txt") in instructions
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0") and not users[-1].startswith(("root:", "0:"))
    env = docker_env(instructions)
    assert env["DATA_DIR"] == "/data" and env["TOKEN_LIST_FILE"].startswith("/data/")
    assert {name for name in env if not name.startswith(("PYTHON", "PIP_"))} <= documented_variables()
    [volume] = [arguments for keyword, arguments in instructions if keyword == "VOLUME"]
    assert "/data" in json.loads(volume)
    # /data belongs to that user before it becomes a volume, so a new volume starts writable.
    volume_at = instructions.index(("VOLUME", volume))
    owner = users[-1].split(":")[0]
    assert any(keyword == "RUN" and re.search(rf"chown {owner}\S* /data\b", arguments)
               for keyword, arguments in instructions[:volume_at])  # fmt: skip
    assert [arguments for keyword, arguments in instructions if keyword == "EXPOSE"] == [env["PORT"]]


def test_the_image_leaves_out_local_state_and_keeps_what_the_server_reads():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    ignored.discard("")
    assert {".env", ".tokens", "data", ".venv", ".git"} <= ignored
    needed = {"app", "wsgi.py", "gunicorn.conf.py", "requirements.txt", "README.md", ".env.example"}
    assert not needed & ignored
