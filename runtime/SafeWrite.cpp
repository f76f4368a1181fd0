//===- runtime/SafeWrite.cpp - Replacing a file atomically, inside the sandbox -===//
//
// Every step works relative to one descriptor of the target's directory
// (openat, linkat, renameat), opened once from the resolved path and
// checked to still be that directory, so a link swapped into the path
// after the sandbox check cannot redirect the write.
//
//===----------------------------------------------------------------------===//
#include "runtime/SafeWrite.h"

#include "runtime/Errors.h"
#include "runtime/Sandbox.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ptl {

namespace {

[[noreturn]] void fail(const std::string &path, const std::string &what, int err) {
  throw RuntimeFault(path + ": " + what + ": " + std::strerror(err));
}

/// A name no other file in the directory is likely to have:
/// `LEAF.ptl-partial-XXXXXX` with six random letters and digits.
std::string uniqueTempName(const std::string &leaf) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}() ^ ((uint64_t)::getpid() << 32));
  std::string name = leaf + ".ptl-partial-";
  for (int i = 0; i < 6; ++i) name += kChars[rng() % (sizeof kChars - 1)];
  return name;
}

/// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Opens the directory `dir` (already resolved: no links) and checks that
/// the descriptor is that directory, so a component replaced by a link
/// since the path was resolved is noticed.
int openResolvedDirectory(const std::string &path, const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(path, "cannot open file for writing: its directory '" + dir + "'", errno);
  char buf[4096];
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(self.c_str(), buf, sizeof buf - 1);
  if (n > 0 && std::string(buf, (size_t)n) != dir) {
    ::close(fd);
    throw RuntimeFault(path + ": the directory '" + dir + "' changed (to '" + std::string(buf, (size_t)n) +
                       "') while the file was being saved");
  }
  return fd;
}

/// Writes all of `bytes` to `fd`; false with errno set on failure.
bool writeAll(int fd, const std::string &bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += (size_t)n;
  }
  return true;
}

} // namespace

void writeFileAtomically(const std::string &path, const std::string &bytes) {
  checkPathAccess(path, PathAccess::Write);
  bool ok = true;
  fs::path resolved(resolvePathForPolicy(path.empty() ? "." : path, &ok));
  if (!ok) fail(path, "cannot resolve the path", ELOOP);
  std::string dir = resolved.parent_path().string(), leaf = resolved.filename().string();
  if (leaf.empty() || leaf == "." || leaf == "..") fail(path, "cannot write a file here", EISDIR);
  // The resolved path must pass the sandbox too (it does when `path` does,
  // unless a link changed in between).
  checkPathAccess(resolved.string(), PathAccess::Write);

  Fd dirFd{openResolvedDirectory(path, dir)};
  struct stat old {};
  bool replacing = ::fstatat(dirFd.fd, leaf.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (replacing && S_ISDIR(old.st_mode)) fail(path, "cannot replace a directory", EISDIR);

  // The temporary file: unnamed if the file system can, else a fresh name.
  Fd file;
  std::string tempName; // set once the temporary file has a name
  file.fd = ::openat(dirFd.fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (file.fd < 0) {
    for (int attempt = 0; attempt < 100 && file.fd < 0; ++attempt) {
      std::string name = uniqueTempName(leaf);
      file.fd = ::openat(dirFd.fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (file.fd >= 0) tempName = name;
      else if (errno != EEXIST) break;
    }
    if (file.fd < 0) fail(path, "cannot open file for writing (a temporary file beside it)", errno);
  }
  auto abandon = [&](const std::string &what) {
    int e = errno;
    if (!tempName.empty()) ::unlinkat(dirFd.fd, tempName.c_str(), 0);
    fail(path, what, e);
  };

  if (!writeAll(file.fd, bytes)) abandon("write error");
  // Keep the replaced file's owner (where allowed) and mode; a new file has
  // the umask's mode from the open.
  if (replacing && S_ISREG(old.st_mode)) {
    if (::fchown(file.fd, old.st_uid, old.st_gid) != 0) { /* not ours to change: keep ours */ }
    if (::fchmod(file.fd, old.st_mode & 07777) != 0) abandon("cannot keep the file's mode");
  }
  if (::fsync(file.fd) != 0 && errno != EINVAL && errno != EROFS) abandon("write error (fsync)");

  if (tempName.empty()) {
    // Give the unnamed file a fresh name (linkat never follows or replaces).
    std::string self = "/proc/self/fd/" + std::to_string(file.fd);
    for (int attempt = 0; attempt < 100 && tempName.empty(); ++attempt) {
      std::string name = uniqueTempName(leaf);
      int r = ::linkat(AT_FDCWD, self.c_str(), dirFd.fd, name.c_str(), AT_SYMLINK_FOLLOW);
      if (r != 0 && errno == ENOENT) // no /proc: needs CAP_DAC_READ_SEARCH
        r = ::linkat(file.fd, "", dirFd.fd, name.c_str(), AT_EMPTY_PATH);
      if (r == 0)
        tempName = name;
      else if (errno != EEXIST)
        abandon("cannot name the temporary file");
    }
    if (tempName.empty()) abandon("cannot name the temporary file");
  }
  int fd = file.fd;
  file.fd = -1;
  if (::close(fd) != 0) abandon("write error");
  if (::renameat(dirFd.fd, tempName.c_str(), dirFd.fd, leaf.c_str()) != 0) abandon("cannot replace the file");
  ::fsync(dirFd.fd); // the rename itself on the disk (best effort)
}

} // namespace ptl
