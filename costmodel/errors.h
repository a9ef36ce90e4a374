// Typed exceptions of hdx. Libraries throw these; only cli/ prints them.
#pragma once
#include <stdexcept>
#include <string>

namespace hdx {

// Every message reads "[stage Ennn] what, where, how to fix".
class Error : public std::runtime_error {
 public:
  Error(std::string stage, int code, const std::string& msg, int exit_code = 1);
  const std::string& stage() const { return stage_; }
  int code() const { return code_; }
  int exit_code() const { return exit_code_; }

 private:
  std::string stage_;
  int code_;
  int exit_code_;
};

// Malformed or out-of-range input file (exit code 2).
class ConfigError : public Error {
 public:
  ConfigError(int code, const std::string& msg) : Error("config", code, msg, 2) {}
};

// A layer that cannot be mapped onto an accelerator (exit code 2).
class MappingError : public Error {
 public:
  MappingError(int code, const std::string& msg) : Error("costmodel", code, msg, 2) {}
};

// RTL generation, lint or synthesis failure.
class RtlError : public Error {
 public:
  RtlError(int code, const std::string& msg, int exit_code = 1)
      : Error("rtlgen", code, msg, exit_code) {}
};

// Simulation failure: build, watchdog, I/O.
class SimError : public Error {
 public:
  SimError(int code, const std::string& msg, int exit_code = 1)
      : Error("sim", code, msg, exit_code) {}
};

// File system and other I/O failures.
class IoError : public Error {
 public:
  IoError(int code, const std::string& msg, int exit_code = 1)
      : Error("io", code, msg, exit_code) {}
};

}  // namespace hdx
