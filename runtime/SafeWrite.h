//===- runtime/SafeWrite.h - Replacing a file atomically, inside the sandbox --===//
//
// writeFileAtomically is how every runtime function that writes a file for
// a script (save, save_npy, save_safetensors) puts its bytes on the disk:
//
//   * the path is checked against the sandbox (runtime/Sandbox.h) and then
//     resolved (`.`, `..`, symbolic links), and the file that is written is
//     that resolved path: the file the check allowed, not whatever a link
//     beside it may point to later;
//   * the bytes go to a new file in the target's directory that nobody else
//     can have prepared: an unnamed O_TMPFILE where the file system has them
//     (a process killed while writing leaves nothing), else a unique
//     `NAME.ptl-partial-XXXXXX` opened with O_CREAT|O_EXCL|O_NOFOLLOW, so a
//     planted link or file of that name is never followed or reused;
//   * they are flushed to the disk (fsync), the file gets the mode (and,
//     where allowed, the owner) of the file it replaces -- a new file the
//     umask's mode -- and it is renamed over the target, so the target
//     always holds either the old bytes or all the new ones;
//   * on any error the temporary file is removed and a RuntimeFault names
//     the path; no link is ever created.
//
// Only a kill in the microseconds between naming the finished temporary
// file and the rename can leave a `NAME.ptl-partial-XXXXXX` behind.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

namespace ptl {

/// Replaces the file at `path` with `bytes` as described above; throws
/// ptl::RuntimeFault (naming `path`) when the sandbox refuses the path or
/// the write fails, leaving any existing file unchanged.
void writeFileAtomically(const std::string &path, const std::string &bytes);

} // namespace ptl
