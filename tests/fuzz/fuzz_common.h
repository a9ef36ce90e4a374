// Shared by the fuzz targets: an input either reads or fails with one of hdx's typed errors;
// anything else (a crash, a sanitizer report, another exception, a broken round trip) is a
// finding that libFuzzer saves.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "errors.h"

namespace hdx::fuzz {

// Aborts, so that libFuzzer keeps the input, when a property of a read value fails.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
  }
}

// Runs read() and says whether it succeeded; hdx::Error is the expected failure of bad input
// and its message must carry the "[stage Ennn] " prefix the CLI prints. Other exceptions
// escape, and libFuzzer reports them.
template <class Read>
bool reads(Read read) {
  try {
    read();
    return true;
  } catch (const Error& e) {
    require(std::string(e.what()).rfind("[" + e.stage() + " E", 0) == 0, "error message prefix");
    return false;
  }
}

}  // namespace hdx::fuzz
