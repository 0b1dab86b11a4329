"""The documentation lists what the code has: every command and option, every setting, every web route."""

from __future__ import annotations

import re

from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _cli():
    import typer.main

    from traum.cli.main import app

    return typer.main.get_command(app)


def _command_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        for name in re.findall(r"`traum ([a-z]+)", line.split("|")[1] if line.startswith("| `traum") else ""):
            rows[name] = rows.get(name, "") + line
    return rows


def test_every_command_and_option_is_in_the_readme_table():
    group = _cli()
    rows = _command_rows()
    missing = []
    for name, command in group.commands.items():
        if name not in rows:
            missing.append(f"traum {name}")
            continue
        for param in command.params:
            names = [o for o in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
                     if o.startswith("-")]
            if param.param_type_name == "option" and names and not any(re.search(rf"{re.escape(o)}\b", rows[name])
                                                                        for o in names):
                missing.append(f"traum {name} {'/'.join(names)}")
    assert missing == []


def test_every_setting_is_in_the_readme():
    from traum.settings import SETTINGS

    assert [s.env for s in SETTINGS if f"`{s.env}`" not in README] == []


def test_every_environment_variable_in_the_source_is_a_setting():
    from traum.settings import SETTINGS

    used = set()
    for path in (REPO / "src" / "traum").rglob("*.py"):
        used |= set(re.findall(r"\bTRAUM_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    assert used - {s.env for s in SETTINGS} == set()


def test_every_web_route_is_in_the_web_docs(tmp_path):
    from traum.web.app import create_app

    app = create_app(tmp_path / "c.db")
    # Parameter names may differ ({stem_id} in code, {id} in prose): compare the shapes.
    shape = re.compile(r"\{[^}]*\}")
    doc = shape.sub("{}", (REPO / "docs" / "web.md").read_text(encoding="utf-8"))
    routes = {shape.sub("{}", r.path) for r in app.routes
              if getattr(r, "include_in_schema", True) and r.path.startswith("/api")}
    assert routes and sorted(p for p in routes if p not in doc) == []


def test_the_version_has_one_source():
    import tomllib

    import traum

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "traum.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", traum.__version__)
