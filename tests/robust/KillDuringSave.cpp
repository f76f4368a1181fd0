//===- tests/robust/KillDuringSave.cpp - SIGKILL during `save` loses nothing --===//
//
// Usage: ptl_kill_during_save PTLC [ROUNDS]
//
// Runs `PTLC run` on a script that saves a 2 MB model over and over (every
// element of every tensor equal to the step number), SIGKILLs it at a
// random moment, and checks that the checkpoint is always intact: it loads
// (ptl::readSafetensors validates everything), has the two tensors with
// their shapes, holds one step's values throughout, and never goes back to
// an older step. A temporary file a kill leaves behind (only a kill between
// naming it and the rename can: runtime/SafeWrite.h) must not matter: a
// final run to completion replaces the checkpoint and leaves none of its own. Exits 0
// on success, 1 with a message on the first failure.
//
//===----------------------------------------------------------------------===//
#include "runtime/Errors.h"
#include "runtime/Formats.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char *kScript = R"(model Big {
  param w: f32[512, 1024] = zeros()
  param b: f32[1000] = zeros()
}
var m = Big()
for i in 0..arg("steps", 1) {
  m.w += 1.0
  m.b += 1.0
  save("ck.safetensors", m)
}
print(m.b[0])
)";

[[noreturn]] void failWith(const std::string &msg) {
  std::fprintf(stderr, "FAIL: %s\n", msg.c_str());
  std::exit(1);
}

/// Starts `ptlc run save_loop.ptl --arg steps=N` in `dir`; returns its pid.
pid_t start(const std::string &ptlc, const fs::path &dir, long steps) {
  pid_t pid = fork();
  if (pid < 0) failWith("fork failed");
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::string arg = "steps=" + std::to_string(steps);
    execl(ptlc.c_str(), ptlc.c_str(), "run", "save_loop.ptl", "--arg", arg.c_str(), (char *)nullptr);
    _exit(127);
  }
  return pid;
}

int waitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/// Loads the checkpoint and returns its step; fails if it is not intact.
long checkCheckpoint(const fs::path &file) {
  ptl::SafetensorsFile f;
  try {
    f = ptl::readSafetensors(file.string());
  } catch (const ptl::RuntimeFault &e) {
    failWith(std::string("the checkpoint does not load: ") + e.what());
  }
  if (f.tensors.size() != 2) failWith("the checkpoint has " + std::to_string(f.tensors.size()) + " tensors");
  double step = -1;
  for (const ptl::NamedTensor &t : f.tensors) {
    ptl::Shape want = t.name == "w" ? ptl::Shape{512, 1024} : ptl::Shape{1000};
    if ((t.name != "w" && t.name != "b") || t.tensor.shape() != want)
      failWith("unexpected tensor '" + t.name + "' " + ptl::typeString(t.tensor.dtype(), t.tensor.shape()));
    const float *p = t.tensor.data<float>();
    if (step < 0) step = p[0];
    for (int64_t i = 0; i < t.tensor.numel(); ++i)
      if (p[i] != step)
        failWith("the checkpoint mixes steps: " + t.name + "[" + std::to_string(i) + "] = " +
                 std::to_string(p[i]) + ", expected " + std::to_string(step));
  }
  if (step < 1 || step != (double)(long)step) failWith("the checkpoint holds step " + std::to_string(step));
  return (long)step;
}

/// The temporary files of saves of the checkpoint in `dir`
/// (`ck.safetensors.ptl-partial-XXXXXX`, runtime/SafeWrite.h).
std::set<std::string> temporaryFiles(const fs::path &dir) {
  std::set<std::string> names;
  for (const auto &e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("ck.safetensors.ptl-partial", 0) == 0) names.insert(n);
  }
  return names;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PTLC [ROUNDS]\n", argv[0]);
    return 2;
  }
  std::string ptlc = fs::absolute(argv[1]).string();
  int rounds = argc > 2 ? std::atoi(argv[2]) : 12;
  fs::path dir = fs::temp_directory_path() / ("ptl-kill-save-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "save_loop.ptl") << kScript;
  const fs::path ck = dir / "ck.safetensors";

  // A first checkpoint, written by a run that completes.
  // Its duration (compiling, one save, exiting) sets when the kills come, so
  // that they land among the saves however loaded the machine is.
  auto t0 = std::chrono::steady_clock::now();
  int st = waitFor(start(ptlc, dir, 1));
  long firstMs = (long)std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - t0).count();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failWith("the first run failed");
  long last = checkCheckpoint(ck);
  if (last != 1) failWith("the first checkpoint holds step " + std::to_string(last));

  std::mt19937 rng((unsigned)std::chrono::steady_clock::now().time_since_epoch().count());
  int progressed = 0, leftovers = 0;
  for (int r = 0; r < rounds; ++r) {
    pid_t pid = start(ptlc, dir, 1000000);
    // Compiling takes about as long as the whole first run; then every save
    // takes a few milliseconds: kill somewhere in the following second or so.
    long spread = std::max(900L, firstMs);
    std::this_thread::sleep_for(std::chrono::milliseconds(firstMs + 100 + (long)(rng() % spread)));
    kill(pid, SIGKILL);
    st = waitFor(pid);
    if (!WIFSIGNALED(st)) failWith("the saving run ended before it was killed");
    long step = checkCheckpoint(ck); // a new run starts again from step 1
    if (step > 1) ++progressed;
    size_t left = temporaryFiles(dir).size();
    std::printf("round %d: killed; the checkpoint holds step %ld%s\n", r + 1, step,
                left > (size_t)leftovers ? " (a temporary file was left)" : "");
    leftovers = (int)left;
  }
  if (progressed == 0) failWith("no round was killed while saving (the runs never got past compiling)");

  // A run to completion replaces the checkpoint whatever a kill left behind,
  // and leaves no temporary file of its own.
  std::set<std::string> before = temporaryFiles(dir);
  st = waitFor(start(ptlc, dir, 3));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failWith("the final run failed");
  if (checkCheckpoint(ck) != 3) failWith("the final checkpoint is not step 3");
  if (temporaryFiles(dir) != before) failWith("a temporary file remains after a completed save");
  std::printf("PASS: %d kills during save, %d left a temporary file; the checkpoint was intact every time\n",
              rounds, leftovers);
  fs::remove_all(dir);
  return 0;
}
