"""The production profile's services and its users (`deploy/production/`).

`python -m pipeline serve` checks the profile's settings (PIPELINE_POSTGRES_URL reachable, DAGSTER_HOME holding
the profile's dagster.yaml, at least one user), writes the proxy's configuration and certificate into
PIPELINE_PROXY_DIR, and starts dagster-daemon, dagster-webserver (127.0.0.1 only) and nginx under supervisord.
`python -m pipeline users add NAME` adds or replaces a user of the login, the password read from standard input.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from string import Template

from pipeline.lib.lake import POSTGRES_ENV, postgres_problem, postgres_url
from pipeline.lib.messages import say
from pipeline.lib.provinces import warehouse_path

PROFILE_DIR = Path(__file__).resolve().parents[2] / "deploy" / "production"
ROOT = PROFILE_DIR.parents[1]
USERS_FILE = "users.htpasswd"
_USER = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


class ServeError(Exception):
    """A setting of the production profile that must be fixed first, for the user."""


def proxy_dir() -> Path:
    """PIPELINE_PROXY_DIR, else `proxy/` beside the warehouse: the users file, certificate and nginx's files."""
    return Path(os.environ.get("PIPELINE_PROXY_DIR") or Path(warehouse_path()).parent / "proxy")


def users_file() -> Path:
    return proxy_dir() / USERS_FILE


def read_password(stream=None) -> str:
    """The password from standard input (a pipe: its first line; a terminal: asked without echo)."""
    stream = stream or sys.stdin
    password = getpass.getpass("Mật khẩu: ") if stream.isatty() else stream.readline().rstrip("\r\n")
    if len(password) < 8:
        raise ServeError(say("serve.short_password"))
    return password


def add_user(name: str, password: str, path: Path | None = None) -> Path:
    """Add or replace `name` in the users file, its password hashed with bcrypt (which nginx's crypt() checks)."""
    import bcrypt

    if not _USER.match(name):
        raise ServeError(say("serve.bad_user_name", name=name))
    path = path or users_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [line for line in (path.read_text(encoding="utf-8").splitlines() if path.exists() else [])
                 if line.split(":", 1)[0] != name]
        hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=10)).decode("ascii")
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text("\n".join([*lines, f"{name}:{hashed}"]) + "\n", encoding="utf-8")
        partial.chmod(0o644)  # nginx's worker (another user) reads it; it holds hashes only
        partial.replace(path)
    except OSError as exc:
        raise ServeError(say("serve.cannot_write_users", path=path, reason=exc.strerror or exc)) from None
    return path


def require_postgres() -> str:
    url = postgres_url()
    if url is None:
        raise ServeError(say("serve.no_postgres", variable=POSTGRES_ENV))
    problem = postgres_problem(url)
    if problem:
        raise ServeError(problem)
    return url


def require_instance() -> Path:
    """DAGSTER_HOME, holding the production profile's dagster.yaml (copied there when it has none)."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise ServeError(say("serve.no_dagster_home", profile=PROFILE_DIR / "dagster.yaml"))
    target = Path(home) / "dagster.yaml"
    if not target.exists():
        Path(home).mkdir(parents=True, exist_ok=True)
        shutil.copy(PROFILE_DIR / "dagster.yaml", target)
    elif "postgres" not in target.read_text(encoding="utf-8"):
        raise ServeError(say("serve.not_production", target=target, profile=PROFILE_DIR / "dagster.yaml"))
    return Path(home)


def certificate(folder: Path) -> tuple[Path, Path]:
    """The proxy's TLS certificate and key, generated once (self-signed; replace them with the site's own)."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    if not (cert.exists() and key.exists()):
        done = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
                               "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                               "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
        if done.returncode != 0:
            raise ServeError(say("serve.no_certificate", reason=" ".join(done.stderr.strip().splitlines()[-1:])))
        key.chmod(0o600)
    return cert, key


def render_proxy(listen: str, port: int, webserver: str, folder: Path | None = None) -> Path:
    """nginx.conf for the proxy folder, from deploy/production/nginx.conf.template."""
    folder = folder or proxy_dir()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    cert, key = certificate(folder)
    users = folder / USERS_FILE
    if not users.exists() or not users.read_text(encoding="utf-8").strip():
        raise ServeError(say("serve.no_user", users=users))
    text = Template((PROFILE_DIR / "nginx.conf.template").read_text(encoding="utf-8")).safe_substitute(
        proxy_dir=folder, listen_address=listen, listen_port=port, certificate=cert, certificate_key=key,
        users_file=users, webserver=webserver, user_line="user root root;" if os.geteuid() == 0 else "")
    target = folder / "nginx.conf"
    target.write_text(text, encoding="utf-8")
    return target


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        raise ServeError(say("serve.no_nginx"))
    return found


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def service_environment(listen: str, port: int, webserver_port: int) -> dict[str, str]:
    """Everything supervisord.conf reads, after every check."""
    require_postgres()
    require_instance()
    nginx = nginx_binary()
    folder = proxy_dir()
    for host, number, what in ((listen, port, "--port"), ("127.0.0.1", webserver_port, "--webserver-port")):
        if not port_free(host, number):
            raise ServeError(say("serve.port_taken", host=host, port=number, option=what))
    render_proxy(listen, port, f"127.0.0.1:{webserver_port}", folder)
    service_dir = folder / "services"
    service_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PIPELINE_ROOT": str(ROOT), "PIPELINE_BIN": str(Path(sys.executable).parent),
            "PIPELINE_WEBSERVER_PORT": str(webserver_port), "PIPELINE_PROXY_DIR": str(folder),
            "PIPELINE_SERVICE_DIR": str(service_dir), "PIPELINE_NGINX": nginx,
            "PIPELINE_WEBSERVER": f"127.0.0.1:{webserver_port}"}


def serve(listen: str, port: int, webserver_port: int) -> int:
    """Start the three services under supervisord, in the foreground, until it is stopped."""
    env = service_environment(listen, port, webserver_port)
    print(say("serve.started", listen=listen, port=port, users=users_file(), webserver_port=webserver_port,
              logs=env["PIPELINE_SERVICE_DIR"]), flush=True)
    supervisord = Path(sys.executable).with_name("supervisord")
    return subprocess.call([str(supervisord), "-c", str(PROFILE_DIR / "supervisord.conf")], env=env)
