//===- tools/ptlc/Repl.h - The interactive loop of `ptlc` -------------------===//
//
// `ptlc` with no file: reads entries and hands them to a repl::Session
// (tools/ptlc/ReplSession.h). On a terminal it edits lines with libedit
// (emacs keys, history persisted in $PTL_HISTORY or ~/.ptl_history), shows
// `ptl> ` and `...  ` for continuation lines, clears the line on Ctrl-C at
// the prompt and interrupts the running entry on Ctrl-C otherwise. Piped,
// it reads plain lines without prompts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/ptlc/ReplSession.h"

namespace ptl::repl {

/// Runs the REPL on stdin/stdout until Ctrl-D, end of input or `:quit`;
/// returns the process exit status (0).
int runRepl(SessionConfig config);

} // namespace ptl::repl
