#include "sandbox/confine.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

// Debian 12's kernel headers know Landlock ABI 1–2; newer ABIs added these (Linux 6.2, 6.7,
// 6.12). The numbers are the kernel's ABI and do not change.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace dossier::sandbox {
namespace {

// struct landlock_ruleset_attr as of ABI 6; older kernels are given a prefix of it.
struct RulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;  // ABI ≥ 4
  uint64_t scoped = 0;              // ABI ≥ 6
};

// A descriptor closed when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status Landlock(int writable_dir) {
  const int abi = static_cast<int>(
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION));
  if (abi < 1) {
    return Internal(
        fmt::format("this kernel has no Landlock ({}): Linux 5.13 or later with Landlock enabled "
                    "(lsm=landlock) is needed to confine the analysis workers",
                    std::strerror(errno)));
  }
  RulesetAttr attr;
  attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: execute … make_sym
  if (abi >= 2) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
  size_t size = sizeof(uint64_t);
  if (abi >= 4) {
    // No rule grants a port: every TCP bind and connect is refused.
    attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
    size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
    size = sizeof(RulesetAttr);
  }
  Fd ruleset{static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0))};
  if (ruleset.fd < 0) {
    return Internal(fmt::format("Landlock refused the workers' rules: {}", std::strerror(errno)));
  }
  auto allow = [&](int dir, uint64_t access, const char* what) -> Status {
    landlock_path_beneath_attr beneath{};
    beneath.allowed_access = access;
    beneath.parent_fd = dir;
    if (::syscall(SYS_landlock_add_rule, ruleset.fd, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) !=
        0) {
      return Internal(
          fmt::format("Landlock refused the rule for {}: {}", what, std::strerror(errno)));
    }
    return Status::Ok();
  };
  {
    Fd usr{::open("/usr", O_PATH | O_CLOEXEC)};
    if (usr.fd >= 0) {
      DOSSIER_RETURN_IF_ERROR(
          allow(usr.fd, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR, "/usr"));
    }
  }
  if (writable_dir >= 0) {  // the export folder: files and folders made and replaced inside
    uint64_t access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
                      LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
                      LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE;
    if (abi >= 3) access |= LANDLOCK_ACCESS_FS_TRUNCATE;
    DOSSIER_RETURN_IF_ERROR(allow(writable_dir, access, "the worker's folder"));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_landlock_restrict_self, ruleset.fd, 0) != 0) {
    return Internal(fmt::format("Landlock could not confine the worker: {}", std::strerror(errno)));
  }
  return Status::Ok();
}

struct SeccompRelease {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

// Everything a worker needs is allowed; what would let hostile code out is refused with
// EPERM (see confine.h).
Status Seccomp() {
  std::unique_ptr<void, SeccompRelease> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Internal("seccomp is not available (libseccomp could not start a filter)");
  // Syscalls of another architecture (int 0x80, x32) would slip past a filter written for
  // this one: they kill the process instead.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  static constexpr const char* kRefused[] = {"socket",
                                             "socketpair",
                                             "connect",
                                             "bind",
                                             "listen",
                                             "accept",
                                             "accept4",
                                             "execve",
                                             "execveat",
                                             "fork",
                                             "vfork",
                                             "ptrace",
                                             "process_vm_readv",
                                             "process_vm_writev",
                                             "mount",
                                             "umount2",
                                             "pivot_root",
                                             "chroot",
                                             "unshare",
                                             "setns",
                                             "keyctl",
                                             "add_key",
                                             "request_key",
                                             "bpf",
                                             "io_uring_setup",
                                             "io_uring_enter",
                                             "io_uring_register",
                                             "perf_event_open",
                                             "userfaultfd",
                                             "init_module",
                                             "finit_module",
                                             "delete_module",
                                             "kexec_load",
                                             "kexec_file_load",
                                             "open_by_handle_at",
                                             "name_to_handle_at",
                                             "pidfd_getfd",
                                             "fsopen",
                                             "fsmount",
                                             "move_mount",
                                             "open_tree",
                                             "mount_setattr",
                                             "personality"};
  for (const char* name : kRefused) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      return Internal(fmt::format("seccomp rule for {} refused: {}", name, std::strerror(-rc)));
    }
  }
  // Threads, not processes: clone is allowed only with CLONE_THREAD. clone3 passes its flags
  // in memory, where seccomp cannot look: it answers ENOSYS, and glibc falls back to clone.
  int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
  if (rc == 0) rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0)
    return Internal(fmt::format("seccomp rule for clone refused: {}", std::strerror(-rc)));
  if (rc = seccomp_load(ctx.get()); rc != 0) {
    return Internal(
        fmt::format("the seccomp filter could not be installed: {}", std::strerror(-rc)));
  }
  return Status::Ok();
}

}  // namespace

Status Confine(int writable_dir) {
  // Both are tried: a kernel without Landlock still gets the seccomp filter.
  const Status files = Landlock(writable_dir);
  const Status calls = Seccomp();
  return files.ok() ? calls : files;
}

}  // namespace dossier::sandbox
