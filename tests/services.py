"""Servers the tests start themselves, bound to 127.0.0.1: a throwaway PostgreSQL cluster (Debian's initdb and
pg_ctl in a temporary folder) and free ports."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PASSWORD = "mat-khau-thu"  # a throwaway cluster's, bound to 127.0.0.1 and deleted after the tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL programs (initdb, pg_ctl), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb refuses root: as root, the cluster belongs to Debian's `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def throwaway_postgres(folder: Path):
    """A PostgreSQL cluster in `folder`, on 127.0.0.1 and a free port, with user `pipeline` (password auth) and
    database `pipeline`; yields its URL and removes the cluster after."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    folder.mkdir(parents=True, exist_ok=True)
    password_file, data, log = folder / "password", folder / "data", folder / "server.log"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (folder, password_file):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        for parent in folder.parents:  # the cluster's owner must reach its folder (pytest's are 0700)
            if parent == Path(tempfile.gettempdir()) or parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    subprocess.run(_as_cluster_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "pipeline", "-A", "scram-sha-256",
                                      f"--pwfile={password_file}", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, capture_output=True, cwd=folder)
    port = free_port()
    started = subprocess.run(_as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                                "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}", "start"]),
                             capture_output=True, text=True, cwd=folder)
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr} {log.read_text() if log.exists() else ''}")
    server = f"postgresql://pipeline:{PASSWORD}@127.0.0.1:{port}"
    url = f"{server}/pipeline"
    try:
        import psycopg2

        for attempt in range(30):
            try:
                conn = psycopg2.connect(f"{server}/postgres", connect_timeout=3)
                break
            except psycopg2.OperationalError:
                if attempt == 29:
                    raise
                time.sleep(1)
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE pipeline")
        conn.close()
        yield url
    finally:
        subprocess.run(_as_cluster_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, cwd=folder)


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine other than 127.0.0.0/8 (the interface a packet out would leave by)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the interface
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address
