//===- tools/ptlc/Repl.cpp - The interactive loop of `ptlc` -----------------===//
//
// See Repl.h. libedit's native API (histedit.h) reads the lines: el_gets
// returns null with EINTR when SIGINT interrupts the read (our handler is
// installed without SA_RESTART), which is how Ctrl-C clears the line.
//
//===----------------------------------------------------------------------===//
#include "tools/ptlc/Repl.h"

#include <histedit.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>

namespace ptl::repl {

namespace {

Session *gSession = nullptr;
volatile sig_atomic_t gPromptInterrupted = 0;
const char *gPrompt = "ptl> ";

/// SIGINT: interrupts the running entry, or marks the prompt's line as cancelled.
void onSigint(int) {
  gPromptInterrupted = 1;
  if (gSession) gSession->interrupt();
}

const char *promptFn(EditLine *) { return gPrompt; }

/// $PTL_HISTORY, else ~/.ptl_history ("" if there is no home).
std::string historyPath() {
  if (const char *p = std::getenv("PTL_HISTORY")) return p;
  if (const char *h = std::getenv("HOME")) return std::string(h) + "/.ptl_history";
  return "";
}

/// Reads entries as plain lines (stdin is not a terminal).
int runPiped(Session &s) {
  std::string entry, line;
  while (!s.quitRequested() && std::getline(std::cin, line)) {
    entry += line + "\n";
    if (Session::needsMore(entry)) continue;
    s.handle(entry);
    entry.clear();
  }
  if (!entry.empty() && !s.quitRequested()) s.handle(entry); // an unfinished last entry reports its error
  return 0;
}

} // namespace

int runRepl(SessionConfig config) {
  Session session(config);
  if (!isatty(STDIN_FILENO)) return runPiped(session);

  gSession = &session;
  struct sigaction sa {};
  sa.sa_handler = onSigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a Ctrl-C ends the pending read
  struct sigaction previous {};
  sigaction(SIGINT, &sa, &previous);

  EditLine *el = el_init("ptlc", stdin, stdout, stderr);
  History *hist = history_init();
  HistEvent ev;
  history(hist, &ev, H_SETSIZE, 1000);
  history(hist, &ev, H_SETUNIQUE, 1);
  std::string histFile = historyPath();
  if (!histFile.empty()) history(hist, &ev, H_LOAD, histFile.c_str());
  el_set(el, EL_EDITOR, "emacs");
  el_set(el, EL_PROMPT, promptFn);
  el_set(el, EL_HIST, history, hist);
  el_source(el, nullptr); // ~/.editrc, if any

  std::printf("PTL %s REPL. :help lists the commands, Ctrl-D leaves.\n", PTL_VERSION);
  std::fflush(stdout);
  std::string entry;
  while (!session.quitRequested()) {
    gPrompt = entry.empty() ? "ptl> " : "...  ";
    gPromptInterrupted = 0;
    int count = 0;
    const char *line = el_gets(el, &count);
    if (!line) {
      if (gPromptInterrupted || (count == -1 && errno == EINTR)) {
        // Ctrl-C: drop the line (and a pending multi-line entry).
        std::fputs("^C\n", stdout);
        std::fflush(stdout);
        el_reset(el);
        entry.clear();
        continue;
      }
      std::fputs("\n", stdout); // Ctrl-D
      break;
    }
    std::string text(line, (size_t)count);
    if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
      std::string h = text;
      while (!h.empty() && (h.back() == '\n' || h.back() == '\r')) h.pop_back();
      history(hist, &ev, H_ENTER, h.c_str());
    }
    if (text.empty() || text.back() != '\n') text += "\n";
    entry += text;
    if (Session::needsMore(entry)) continue;
    gPromptInterrupted = 0;
    session.handle(entry);
    entry.clear();
    if (!histFile.empty()) history(hist, &ev, H_SAVE, histFile.c_str());
  }
  if (!histFile.empty()) history(hist, &ev, H_SAVE, histFile.c_str());
  history_end(hist);
  el_end(el);
  sigaction(SIGINT, &previous, nullptr);
  gSession = nullptr;
  return 0;
}

} // namespace ptl::repl
