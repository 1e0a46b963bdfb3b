"""localelb's own command line: --version, --help per subcommand (README's options table is what serve lists),
shell completions, refused flags and quota names (exit 2), SIGTERM as a clean shutdown that keeps the state, and
the log format on stderr (JSON lines, no colour in a file, RUST_LOG)."""

import json
import os
import re
import signal
import subprocess
import tomllib
from pathlib import Path

import pytest

from support import unique

REPO = Path(__file__).resolve().parents[2]


def run(binary, *args, env=None, timeout=30):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def readme_serve_options() -> list[str]:
    """The option names in README's `localelb serve` options table."""
    text = (REPO / "README.md").read_text()
    table = text.split("### `localelb serve` options", 1)[1].split("\n\n", 2)[1]
    names = [n for row in table.splitlines()[2:] for n in re.findall(r"`(--[a-z0-9-]+)", row.split("|")[1])]
    assert len(names) >= 20, names
    return names


def sigterm(server) -> int:
    """SIGTERM the server; its exit status (the test fails if it takes more than 10 s)."""
    os.kill(server.proc.pid, signal.SIGTERM)
    return server.proc.wait(timeout=10)


def log_lines(server) -> list[str]:
    return [line for line in server.log_path.read_text("utf-8", "replace").splitlines() if line.strip()]


def test_cli_version(localelb_bin):
    """`localelb --version` prints the crate's version and exits 0."""
    version = tomllib.loads((REPO / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    p = run(localelb_bin, "--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"localelb {version}"


@pytest.mark.parametrize(
    "sub, expected",
    [
        ((), ["serve", "endpoints", "render", "completions", "--version", "--log-format"]),
        (("serve",), ["LOCALELB_LISTEN", "LOCALELB_DATA_DIR", "traefik-kube", "[default: 127.0.0.1:4566]"]),
        (("endpoints",), ["--endpoint", "LOCALELB_LISTEN"]),
        (("render",), ["--format", "traefik-crd", "--endpoint"]),
        (("completions",), ["bash", "zsh", "fish"]),
    ],
)
def test_cli_help_per_subcommand(localelb_bin, sub, expected):
    """`--help` on each subcommand exits 0 and lists its options (serve: every option of README's table)."""
    p = run(localelb_bin, *sub, "--help")
    assert p.returncode == 0, p.stderr
    wanted = expected + (readme_serve_options() if sub == ("serve",) else [])
    missing = [w for w in wanted if w not in p.stdout]
    assert not missing, f"{missing} not in:\n{p.stdout}"


def test_cli_bash_completions(localelb_bin):
    """`localelb completions bash` prints a script bash loads, registering a completion for localelb."""
    p = run(localelb_bin, "completions", "bash")
    assert p.returncode == 0, p.stderr
    assert "--traefik-port-pool" in p.stdout
    loaded = subprocess.run(["bash", "-c", "source /dev/stdin && complete -p localelb"], input=p.stdout,
                            capture_output=True, text=True, timeout=30)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("complete ") and loaded.stdout.rstrip().endswith(" localelb"), loaded.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("serve", "--no-such-flag"), "--no-such-flag"),
        (("serve", "--port-offset", "x"), "bad --port-offset x"),
        (("serve", "--dataplane", "traefik-file"), "--dataplane traefik-file needs --traefik-dir"),
        (("no-such-command",), "no-such-command"),
    ],
)
def test_cli_bad_flags_exit_2(localelb_bin, args, message):
    """A bad flag, value or subcommand exits 2 with a message naming it."""
    p = run(localelb_bin, *args)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert message in p.stderr


def test_cli_unknown_quota_name_is_refused(localelb_bin):
    """`--quota NAME=N` with a name localelb has no quota for stops the start (exit 2), naming it and the valid ones."""
    p = run(localelb_bin, "serve", "--ephemeral", "--listen", "127.0.0.1:0", "--quota", "target-group=5")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "unknown --quota name target-group " in p.stderr
    for valid in ("application-load-balancers", "target-groups", "trust-stores-per-account"):
        assert valid in p.stderr


def test_cli_sigterm_commits_and_exits_0(server_factory, client_factory, tmp_path):
    """SIGTERM: the server exits 0 promptly, and a restart on the same --data-dir has what was created before."""
    data_dir = tmp_path / "data"
    first = server_factory(data_dir=data_dir)
    c = client_factory("elbv2", first.endpoint)
    name = unique("term")
    arn = c.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId="vpc-0a1b2c3d4e5f60718")[
        "TargetGroups"][0]["TargetGroupArn"]
    c.add_tags(ResourceArns=[arn], Tags=[{"Key": "k", "Value": "v"}])
    assert sigterm(first) == 0
    assert "shutting down" in first.log_path.read_text()

    second = server_factory(data_dir=data_dir)
    c = client_factory("elbv2", second.endpoint)
    assert [t["TargetGroupArn"] for t in c.describe_target_groups(Names=[name])["TargetGroups"]] == [arn]
    assert c.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"] == [{"Key": "k", "Value": "v"}]


def test_cli_json_log_lines(server_factory):
    """`--log-format json`: every stderr line is a JSON object (start and shutdown lines included)."""
    s = server_factory(extra_args=("--log-format", "json"))
    assert sigterm(s) == 0
    records = [json.loads(line) for line in log_lines(s)]
    messages = [r.get("fields", {}).get("message") for r in records]
    assert "localelb started" in messages and "shutting down" in messages, records
    assert all(r.get("level") for r in records), records


def test_cli_text_logs_have_no_colour_in_a_file(server_factory):
    """Text logs written to a file (not a terminal) carry no ANSI escape codes."""
    s = server_factory()
    assert sigterm(s) == 0
    text = s.log_path.read_text()
    assert "localelb started" in text
    assert "\x1b[" not in text


def test_cli_rust_log_sets_the_level(server_factory, monkeypatch):
    """RUST_LOG=warn leaves out the info lines (start, shutdown)."""
    monkeypatch.setenv("RUST_LOG", "warn")
    s = server_factory()
    assert sigterm(s) == 0
    assert not [line for line in log_lines(s) if "localelb started" in line or "shutting down" in line]
