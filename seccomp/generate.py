"""Generate the sandbox's seccomp profile (``seccomp/profile.json``) from named groups.

The profile is a default-deny allowlist (EPERM) in Docker's seccomp JSON format, derived
from what Python 3.11 + PyTorch CPU/CUDA training needs under runc and Docker's init (tini).
Each allowed group carries a one-line reason; see ``seccomp/README.md`` for the full story.

Usage::

    python seccomp/generate.py            # rewrite seccomp/profile.json
    python seccomp/generate.py --check    # exit 1 if the committed file is stale

Stdlib only, and independent of the rest of the repository, so tests can load it by path.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

PROFILE_PATH = Path(__file__).resolve().with_name("profile.json")

EPERM = 1  # the default answer: "operation not permitted", which callers already handle
ENOSYS = 38  # "not implemented": the answer that makes glibc fall back from clone3 to clone
AF_UNIX = 1  # the only socket family allowed; the container also runs with network "none"
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: no new namespaces from clone().
# (CLONE_NEWTIME only exists for clone3/unshare, which are denied outright.)
CLONE_NAMESPACE_MASK = 0x7E020000
PER_LINUX = 0x0  # personality(PER_LINUX): the normal execution domain
PERSONALITY_QUERY = 0xFFFFFFFF  # personality(0xffffffff) only reads the current persona

# Only 64-bit ABIs and no sub-architectures: int 0x80 / i386 compat and x32 syscalls match
# no architecture in the filter and hit libseccomp's bad-arch action (the thread is killed).
ARCH_MAP = [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []},
]

# group name -> (one-line reason, syscalls allowed unconditionally).
# Names the kernel or libseccomp does not know on an architecture (fork, open, stat... on
# aarch64; futex_wait on an old libseccomp) are skipped by runc, so one list serves both.
# Compact tables read better than one syscall per line, so the formatter leaves them alone.
# fmt: off
ALLOWED_GROUPS: dict[str, tuple[str, list[str]]] = {
    "process": (
        "spawn and reap processes: runc execs docker-init, which execs python; subprocess and "
        "DataLoader workers fork/vfork (clone itself is an argument rule)",
        ["execve", "exit", "exit_group", "fork", "getpgid", "getpgrp", "getpid", "getppid",
         "getsid", "kill", "prctl", "setpgid", "setsid", "tgkill", "tkill", "vfork", "wait4",
         "waitid"],
    ),
    "threads": (
        "pthreads, glibc's robust mutexes and restartable sequences, CPython's GIL, OpenMP",
        ["arch_prctl", "futex", "futex_wait", "futex_waitv", "futex_wake", "get_robust_list",
         "gettid", "rseq", "set_robust_list", "set_tid_address"],
    ),
    "scheduling": (
        "OpenMP/oneDNN read CPU affinity and topology; raising priority still needs CAP_SYS_NICE, "
        "which is dropped",
        ["getcpu", "getpriority", "ioprio_get", "sched_get_priority_max", "sched_get_priority_min",
         "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
         "sched_rr_get_interval", "sched_setaffinity", "sched_yield", "setpriority"],
    ),
    "identity_and_limits": (
        "read-only identity and resource queries; raising a hard limit needs CAP_SYS_RESOURCE, "
        "which is dropped",
        ["capget", "getegid", "geteuid", "getgid", "getgroups", "getresgid", "getresuid",
         "getrlimit", "getrusage", "getuid", "prlimit64", "setrlimit", "sysinfo", "times", "uname"],
    ),
    "memory": (
        "allocators, tensors, the CUDA driver and shared-memory tensors (memfd) map memory",
        ["brk", "get_mempolicy", "madvise", "membarrier", "memfd_create", "mincore", "mlock",
         "mlock2", "mlockall", "mmap", "mprotect", "mremap", "msync", "munlock", "munlockall",
         "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect"],
    ),
    "file_io": (
        "reading data and writing checkpoints/predictions through file descriptors; ioctl carries "
        "the NVIDIA driver's interface and tty queries",
        ["close", "close_range", "copy_file_range", "creat", "dup", "dup2", "dup3", "fadvise64",
         "fallocate", "fcntl", "fdatasync", "flock", "fsync", "ftruncate", "ioctl", "lseek", "open",
         "openat", "openat2", "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64",
         "pwritev", "pwritev2", "read", "readahead", "readv", "sendfile", "sync_file_range",
         "truncate", "write", "writev"],
    ),
    "filesystem": (
        "path operations inside the container's own (read-only or tmpfs) mounts; ownership changes "
        "still need CAP_CHOWN/CAP_FOWNER, which are dropped",
        ["access", "chdir", "chmod", "chown", "faccessat", "faccessat2", "fchdir", "fchmod",
         "fchmodat", "fchmodat2", "fchown", "fchownat", "fgetxattr", "flistxattr", "fstat",
         "fstatfs", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
         "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "lchown",
         "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "lstat", "mkdir", "mkdirat",
         "newfstatat", "readlink", "readlinkat", "rename", "renameat", "renameat2", "rmdir", "stat",
         "statfs", "statx", "symlink", "symlinkat", "umask", "unlink", "unlinkat", "utime",
         "utimensat", "utimes"],
    ),
    "events": (
        "event loops and waits: selectors, multiprocessing, DataLoader queues, Go's runtime in "
        "runc before it execs",
        ["epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait",
         "eventfd", "eventfd2", "poll", "ppoll", "pselect6", "select", "signalfd", "signalfd4",
         "timerfd_create", "timerfd_gettime", "timerfd_settime"],
    ),
    "time": (
        "clocks, sleeps and timers (the runner's own deadline uses alarm/setitimer)",
        ["alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday",
         "nanosleep", "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun",
         "timer_gettime", "timer_settime"],
    ),
    "signals": (
        "signal handling: tini forwards signals, CPython installs handlers, Go preempts with "
        "signals",
        ["pause", "restart_syscall", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
         "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
         "sigaltstack"],
    ),
    "unix_sockets": (
        "socket operations for AF_UNIX only (multiprocessing, DataLoader fd passing): "
        "socket/socketpair are argument rules, so no other family can be opened",
        ["accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
         "listen", "recvfrom", "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt",
         "shutdown"],
    ),
    "sysv_ipc": (
        "System V shared memory and semaphores, confined to the container's private IPC namespace",
        ["semctl", "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget"],
    ),
    "random": (
        "CPython's hash seed and os.urandom, torch seeding",
        ["getrandom"],
    ),
}
# fmt: on


# A NamedTuple, not a dataclass: dataclasses need the module in sys.modules, and tests load
# this file by path with importlib.
class ArgRule(NamedTuple):
    """One allow rule whose syscalls pass only when a single argument matches."""

    group: str
    reason: str
    names: tuple[str, ...]
    index: int
    op: str
    value: int
    value_two: int = 0


# fmt: off
ARG_RULES: list[ArgRule] = [
    ArgRule("unix_sockets", "AF_UNIX only: no network, netlink, packet or vsock sockets",
            ("socket", "socketpair"), 0, "SCMP_CMP_EQ", AF_UNIX),
    # arg 0 holds the flags on x86_64 and aarch64 (s390/s390x differ; they are not targeted).
    ArgRule("process", "threads and processes, but no new namespaces",
            ("clone",), 0, "SCMP_CMP_MASKED_EQ", CLONE_NAMESPACE_MASK, 0),
    ArgRule("process", "the normal execution domain (PER_LINUX)",
            ("personality",), 0, "SCMP_CMP_EQ", PER_LINUX),
    ArgRule("process", "query the current persona only",
            ("personality",), 0, "SCMP_CMP_EQ", PERSONALITY_QUERY),
]
# fmt: on

# name -> (errno, reason): denied with a specific errno instead of the default EPERM.
ERRNO_RULES: dict[str, tuple[int, str]] = {
    # clone3 takes its flags in a struct that seccomp cannot inspect; ENOSYS (not EPERM)
    # makes glibc's pthread_create and posix_spawn fall back to the filtered clone().
    "clone3": (ENOSYS, "flags live in a struct seccomp cannot read; ENOSYS -> glibc uses clone"),
}

# Denied with SCMP_ACT_KILL_PROCESS: nothing legitimate in a training run calls these, so a
# call is an escape or introspection attempt. The process dies by SIGSYS (exit 159) and the
# host reports the trial as policy_violation.
# fmt: off
DENIED_KILL: list[str] = [
    "acct", "add_key", "bpf", "chroot", "create_module", "delete_module", "finit_module",
    "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
    "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
    "move_mount", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
    "pivot_root", "process_vm_readv", "process_vm_writev", "ptrace", "query_module",
    "quotactl", "reboot", "request_key", "setns", "swapoff", "swapon", "umount2", "unshare",
    "userfaultfd",
]

# Denied by the default action (EPERM), listed so that tests can prove none is allowed.
# Conditional denials live in ARG_RULES instead: socket/socketpair with a family other than
# AF_UNIX, clone with namespace flags, personality with any other value.
DENIED_EPERM: list[str] = [
    # zero-copy pipe tricks (Dirty Pipe class) and exec by fd
    "execveat", "splice", "tee", "vmsplice",
    # identity and capability changes (no-new-privileges and cap_drop ALL already apply)
    "capset", "setfsgid", "setfsuid", "setgid", "setgroups", "setregid", "setresgid",
    "setresuid", "setreuid", "setuid",
    # device nodes and handle-based file access
    "mknod", "mknodat", "name_to_handle_at",
    # legacy AIO and POSIX/SysV message queues: not needed, extra kernel surface
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
    "msgctl", "msgget", "msgrcv", "msgsnd",
    # NUMA placement of host memory (CUDA and torch tolerate EPERM here)
    "mbind", "migrate_pages", "move_pages", "set_mempolicy", "set_mempolicy_home_node",
    # host-wide clocks, names, logs and filesystem flushes
    "adjtimex", "clock_adjtime", "clock_settime", "setdomainname", "sethostname",
    "settimeofday", "sync", "syncfs", "syslog",
    # obsolete or introspection-only interfaces
    "_sysctl", "sysfs", "uselib", "ustat", "vhangup",
    # sandboxing/monitoring APIs the workload must not stack or use
    "fanotify_init", "fanotify_mark", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "seccomp",
    # handles on other processes
    "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "process_madvise",
    # scheduling policy, I/O priority and extended-attribute writes
    "fremovexattr", "fsetxattr", "ioprio_set", "lremovexattr", "lsetxattr", "removexattr",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "setxattr",
]
# fmt: on


def _rule(names: list[str] | tuple[str, ...], action: str, comment: str, **extra) -> dict:
    return {"names": sorted(names), "action": action, "args": [], "comment": comment, **extra}


def _allow_rules() -> list[dict]:
    return [
        _rule(names, "SCMP_ACT_ALLOW", f"{group}: {reason}")
        for group, (reason, names) in sorted(ALLOWED_GROUPS.items())
    ]


def _arg_rules() -> list[dict]:
    rules = []
    for r in ARG_RULES:
        arg = {"index": r.index, "value": r.value, "valueTwo": r.value_two, "op": r.op}
        rules.append({**_rule(r.names, "SCMP_ACT_ALLOW", f"{r.group}: {r.reason}"), "args": [arg]})
    return rules


def _deny_rules() -> list[dict]:
    rules = [
        _rule([name], "SCMP_ACT_ERRNO", f"denied: {reason}", errnoRet=errno)
        for name, (errno, reason) in sorted(ERRNO_RULES.items())
    ]
    rules.append(
        _rule(
            DENIED_KILL,
            "SCMP_ACT_KILL_PROCESS",
            "denied: escape/introspection primitives; SIGSYS -> policy_violation",
        )
    )
    return rules


def _check_consistency() -> None:
    allowed = {n for _, names in ALLOWED_GROUPS.values() for n in names}
    allowed |= {n for r in ARG_RULES for n in r.names}
    denied = set(DENIED_KILL) | set(DENIED_EPERM) | set(ERRNO_RULES)
    clash = sorted(allowed & denied)
    if clash:
        raise ValueError(f"syscalls both allowed and denied: {', '.join(clash)}")
    if set(DENIED_KILL) & set(DENIED_EPERM):
        raise ValueError("a syscall is listed in both DENIED_KILL and DENIED_EPERM")


def build_profile() -> dict:
    """Return the seccomp profile as a dict in Docker's profile format.

    Raises:
        ValueError: if a syscall is both allowed and denied in the tables above.
    """
    _check_consistency()
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": ARCH_MAP,
        "syscalls": _allow_rules() + _arg_rules() + _deny_rules(),
    }


def render() -> str:
    """Return the profile exactly as it is written to disk."""
    return json.dumps(build_profile(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the profile differs from what would be generated",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=PROFILE_PATH,
        help="profile path (default: seccomp/profile.json next to this file)",
    )
    args = parser.parse_args(argv)
    expected = render()
    if args.check:
        current = args.profile.read_text(encoding="utf-8") if args.profile.is_file() else None
        if current != expected:
            print(
                f"error: {args.profile} is out of date; regenerate it with "
                "`python seccomp/generate.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    args.profile.write_text(expected, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
