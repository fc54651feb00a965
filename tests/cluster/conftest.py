"""A real single-node SLURM cluster on this machine, for the tests beside this file.

Installs Debian's slurm-wlm and munge with apt when they are missing, writes a slurm.conf for this
host (CPUs and memory as `slurmd -C` reads them, one fake GPU), starts munged, slurmctld and slurmd
in the foreground, waits until the node is idle, and stops exactly those three by PID afterwards.
Everything but /etc/slurm/{slurm,gres}.conf lives in a temporary folder, with ports of its own.
The configuration has to be at /etc/slurm: the slurm-jobstep plugin drops SLURM_CONF from the
environment of the `srun` it runs inside each job.

It needs root and apt (a CI container), so it runs only where asked to (`make test-cluster`);
with CI=true, anything that stops it from running is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import services

SLURM_ETC = Path("/etc/slurm")
OPT_IN = "WSMR_SLURM_TEST"
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

SLURM_CONF = """\
ClusterName=wsmrci
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={home}/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={home}/state
SlurmdSpoolDir={home}/spool
SlurmctldPidFile={home}/slurmctld.pid
SlurmdPidFile={home}/slurmd.pid
SlurmctldLogFile={home}/slurmctld.log
SlurmdLogFile={home}/slurmd.log
# no cgroups in a container: track processes by their parents, bind nothing
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without slurmdbd, `squeue` is the status command: finished jobs must stay visible to it
MinJobAge=600
ReturnToService=2
GresTypes=gpu
{node} NodeAddr=127.0.0.1 Gres=gpu:2 State=UNKNOWN
PartitionName=ci Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""

# two GPUs as far as SLURM's scheduling goes (stand-in device files; without files slurmd counts
# none): `--gpus=1` jobs are accepted and counted, and two of them (two seeds' training) run at once
GRES_CONF = "NodeName={host} Name=gpu File=/dev/null\nNodeName={host} Name=gpu File=/dev/zero\n"


def cannot_run(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the real-SLURM test must run in CI: {reason}")
    pytest.skip(reason)


def check_can_run() -> None:
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"installs and starts SLURM as root: run it with `make test-cluster` "
                    f"({OPT_IN}=1)")
    if os.geteuid() != 0:
        cannot_run("needs root (apt-get, /etc/slurm, slurmd)")
    if (SLURM_ETC / "slurm.conf").exists():
        cannot_run(f"{SLURM_ETC}/slurm.conf exists: this host has a SLURM of its own")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        cannot_run("the slurm executor plugin is missing: pip install -c constraints.txt "
                   "-e '.[slurm]'")


def install_slurm() -> None:
    """Debian's slurm-wlm and munge, when slurmctld is not installed yet."""
    if shutil.which("slurmctld") and shutil.which("munged"):
        return
    if shutil.which("apt-get") is None:
        cannot_run("slurm-wlm is not installed and apt-get is not available")
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"]):
        subprocess.run(command, check=True, env=APT_ENV, timeout=900)


def write_config(home: Path) -> None:
    """slurm.conf and gres.conf for this host; its node line as `slurmd -C` reads the machine."""
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True,
                          timeout=60).stdout.splitlines()[0]
    host = node.split()[0].removeprefix("NodeName=")
    SLURM_ETC.mkdir(exist_ok=True)
    (SLURM_ETC / "slurm.conf").write_text(SLURM_CONF.format(
        host=host, node=node, home=home, ctld_port=services.free_port(),
        slurmd_port=services.free_port()))
    (SLURM_ETC / "gres.conf").write_text(GRES_CONF.format(host=host))


def node_state() -> str:
    """The node's state (idle, ...) as slurmctld sees it; empty while slurmctld does not answer."""
    try:
        result = subprocess.run(["sinfo", "--noheader", "--Node", "--format=%T"],
                                capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return ""
    return result.stdout.strip()


def start_daemons(home: Path) -> list[subprocess.Popen]:
    """munged, slurmctld and slurmd in the foreground; each one ready before the next starts."""
    subprocess.run(["mungekey", "--create", f"--keyfile={home}/munge.key"], check=True, timeout=60)
    started = []
    try:
        munged = services.start(
            ["munged", "--foreground", f"--socket={home}/munge.socket",
             f"--key-file={home}/munge.key", f"--pid-file={home}/munged.pid",
             f"--log-file={home}/munged.log", f"--seed-file={home}/munged.seed"],
            home / "munged.out")
        started.append(munged)
        services.wait_until((home / "munge.socket").exists, 30, "munged", munged)
        slurmctld = services.start(["slurmctld", "-D", "-i"], home / "slurmctld.out")
        started.append(slurmctld)
        services.wait_until(lambda: node_state() != "", 60, "slurmctld", slurmctld)
        slurmd = services.start(["slurmd", "-D"], home / "slurmd.out")
        started.append(slurmd)
        services.wait_until(lambda: node_state() == "idle", 60, "slurmd", slurmd)
    except BaseException:
        print_logs(home)
        stop_daemons(started)
        raise
    return started


def print_logs(home: Path) -> None:
    """The daemons' logs, for pytest to show with a failure."""
    for log in sorted(home.glob("*.out")) + sorted(home.glob("*.log")):
        print(f"==> {log} <==\n{log.read_text(errors='replace')[-3000:]}")


def cancel_jobs() -> None:
    """Cancel whatever a failed test left queued or running on this cluster (it is ours alone)."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["scancel", "--user=root"], timeout=30)


def stop_daemons(started: list[subprocess.Popen]) -> None:
    for daemon in reversed(started):
        services.stop(daemon)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Path]:
    """A running single-node SLURM cluster; yields the folder with its state and logs."""
    check_can_run()
    install_slurm()
    # munged requires that every user may traverse the folder of its socket
    home = Path(tempfile.mkdtemp(prefix="wsmr-slurm-"))
    home.chmod(0o755)
    for folder in ("state", "spool"):
        (home / folder).mkdir()
    try:
        write_config(home)
        daemons = start_daemons(home)
        try:
            yield home
        finally:
            cancel_jobs()
            stop_daemons(daemons)
    finally:
        for name in ("slurm.conf", "gres.conf"):
            (SLURM_ETC / name).unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)
