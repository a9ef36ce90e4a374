// Small shared helpers: hashing and safe file output.
#pragma once
#include <string>

namespace hdx {

std::string sha256_hex(const std::string& data);
std::string sha256_file(const std::string& path);  // throws IoError

// Writes to PATH.tmp.<pid> in the same directory and renames it over PATH, so an interrupted
// run never leaves a half-written file that looks whole. Throws IoError.
void write_file_atomic(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);  // throws IoError

}  // namespace hdx

#include <vector>
namespace hdx {
// Runs argv (no shell) in directory cwd (empty: current), with stdout and stderr captured
// together into *output. Returns the exit status (128 + signal if killed). Throws IoError
// when the program cannot be started.
int run_command(const std::vector<std::string>& argv, std::string* output,
                const std::string& cwd = "");
// Throws IoError (exit 2) naming the Debian package when `tool` is not on PATH.
void require_tool(const std::string& tool, const std::string& debian_package);
// Quotes argv for display in messages and banners.
std::string shell_join(const std::vector<std::string>& argv);
// Folder holding templates/, techlib/ and sim/ sources (HDX_DATA_DIR overrides the built-in
// one).
std::string data_dir();

}  // namespace hdx
