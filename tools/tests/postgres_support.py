"""A throwaway PostgreSQL for the tests and the bench: Debian's server binaries, `initdb` into a temporary folder
as an unprivileged user (nobody, when run as root), listening on 127.0.0.1 at a free port and on a socket in that
folder, stopped and removed at the end. Nothing here is a mock: it is the server users run.

    with Postgres(folder) as pg:
        pg.create_database("ledger")        # → postgres://docket@127.0.0.1:PORT/ledger
        pg.stop(); pg.start()               # the same data, the same port (an outage and its end)

Run as a program (tools/pg-scratch) it starts one and prints its URL, or stops the one in a folder.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

USER = "docket"  # the database superuser initdb makes (not a system account)


def bin_dir():
    """The newest installed server's binaries (postgresql-NN)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (tools/setup does)")
    return Path(found[-1]).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self, folder, port=None):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = port or free_port()
        self.bin = bin_dir()
        self.as_user = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
            self.as_user = ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid, "--clear-groups"]

    def _run(self, argv, timeout=60, check=True):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(self.folder)}
        res = subprocess.run(self.as_user + list(map(str, argv)), env=env, cwd=self.folder, timeout=timeout,
                             capture_output=True, text=True)
        if check and res.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (argv[0], res.returncode, res.stdout[-2000:],
                                                         res.stderr[-2000:]))
        return res

    def init(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            os.chown(self.folder, self.uid, self.gid)
        os.chmod(self.folder, 0o755)
        self._run([self.bin / "initdb", "-D", self.data, "-U", USER, "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-instructions"])
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                       "max_connections = 200\nshared_buffers = 128MB\nlogging_collector = off\n" % (
                           self.port, self.folder))
        return self

    def start(self, timeout=30):
        self._run([self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-w", "-t",
                   str(timeout), "start"], timeout=timeout + 10)
        return self

    def stop(self, mode="fast"):
        if (self.data / "postmaster.pid").exists():
            self._run([self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def psql(self, sql, database="postgres"):
        res = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                              "-U", USER, "-d", database, "-At", "-c", sql], capture_output=True, text=True,
                             timeout=60)
        if res.returncode != 0:
            raise RuntimeError("psql failed: %s" % res.stderr)
        return res.stdout

    def create_database(self, name):
        self.psql('CREATE DATABASE "%s"' % name)
        return self.url(name)

    def url(self, database):
        return "postgres://%s@127.0.0.1:%d/%s" % (USER, self.port, database)

    def __enter__(self):
        return self.init().start()

    def __exit__(self, *exc):
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "start":
        pg = Postgres(sys.argv[2]).init().start()
        (Path(sys.argv[2]) / "port").write_text(str(pg.port))
        print(pg.url("postgres"))
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        port = int((Path(sys.argv[2]) / "port").read_text())
        Postgres(sys.argv[2], port).stop("immediate")
        shutil.rmtree(sys.argv[2], ignore_errors=True)
    else:
        sys.exit("usage: tools/pg-scratch start|stop FOLDER")
