// Confinement of an analysis worker: what a process that parses hostile bytes may still do.
//
// A worker is assumed to be taken over by the file it reads (a crafted PDF, image, archive or
// DICOM file running code inside it). It holds decrypted documents, so what matters is what
// that code can reach. After Confine() a worker MAY:
//   - read and write the descriptors it was given (its request socket, its reply pipe, the
//     uploads and sealed memfds passed to it), and create memfds of its own;
//   - read files under /usr (locale data, iconv modules, Tesseract and font data);
//   - create and write files beneath its writable folder, if it was given one (the export
//     worker's export folder), and nowhere else;
//   - allocate memory and use CPU up to its rlimits, and start threads (Tesseract's OpenMP,
//     libde265).
// It MAY NOT (each refused with EPERM, never a kill, so the worker can say what it tried):
//   - create sockets of any kind, connect, bind, listen or accept (seccomp), nor bind or
//     connect TCP ports (Landlock, ABI ≥ 4, a second lock on the same door);
//   - start programs (execve, execveat) or processes (fork, vfork, clone without
//     CLONE_THREAD; clone3 answers ENOSYS so that glibc falls back to clone, whose flags
//     seccomp can see);
//   - trace or read other processes (ptrace, process_vm_readv/writev), mount, unshare or
//     enter namespaces, use kernel keyrings, bpf, io_uring (which would bypass the filter),
//     perf events, userfaultfd, or load kernel modules;
//   - open any file outside /usr and its folder: not the vault, not the passphrase file
//     (Landlock), nor signal processes outside its own sandbox (Landlock ABI ≥ 6);
//   - write a file at all, unless it was given a folder (RLIMIT_FSIZE 0), hold more than a
//     few descriptors (RLIMIT_NOFILE), or dump core (RLIMIT_CORE 0).
// Syscalls of another architecture (32-bit entry points) kill the worker.
//
//   if (Status st = Confine(-1); !st.ok()) ...   // "this kernel has no Landlock: …"
#pragma once

#include "common/status.h"

namespace dossier::sandbox {

// Confines the calling process for good: Landlock (files; TCP on ABI ≥ 4; signals on ABI
// ≥ 6), then the seccomp filter. Call it once, single-threaded, after start-up (libraries
// that read their configuration) and before the first untrusted byte. `writable_dir` is a
// directory descriptor the process may create and write files beneath, or -1.
// kInternal, naming what is missing, when the kernel cannot confine the process
// ("this kernel has no Landlock: …"); the process may then be partly confined.
[[nodiscard]] Status Confine(int writable_dir);

}  // namespace dossier::sandbox
