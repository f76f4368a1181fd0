//===- backend/SiteTablesIO.h - Site tables as bytes, and back ----------------===//
//
// AOT code refers to its op sites (print formats, random and check sites,
// locations, fault messages, train_progress sites) by number, like JIT code;
// the tables travel inside the object file as one constant byte blob that
// the AOT runtime decodes when a context is created. This is the one
// encoding of backend/NativeRuntime.h's SiteTables (the source files
// included); HostOpSite::op is not encoded (AOT code has no IR).
//
// The format is private to one ptlc version and its runtime: a magic and a
// version number, then every table in declaration order; integers are
// little-endian, strings length-prefixed, doubles as their IEEE bits. The
// decoder checks every length against the blob, so a bad blob is an error,
// never a crash.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <string>

namespace ptl::backend {

struct SiteTables;

/// The encoding of `sites` (see above).
std::string encodeSiteTables(const SiteTables &sites);

/// Decodes `size` bytes at `data` into `sites`; false with `error` if they
/// are not an encoding of this version.
bool decodeSiteTables(const void *data, size_t size, SiteTables &sites, std::string &error);

} // namespace ptl::backend
