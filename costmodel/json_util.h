// Small helpers shared by every JSON input format (network.json, accelerator.json, ...):
// JSON pointer paths, typed reads with range checks, and file loading. Every failure is a
// ConfigError whose message starts with the JSON pointer path of the offending value.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"

namespace hdx {

// Error codes of the config stage, one per kind of error, shared by all formats.
// docs/formats.md lists them; add new ones at the end.
namespace config_code {
enum : int {
  kCannotRead = 1,      // file missing, unreadable or a directory
  kSyntax = 2,          // not valid JSON
  kDuplicateKey = 3,    // the same key twice in one JSON object
  kUnknownKey = 4,      // key not allowed at this place
  kMissingKey = 5,      // required key absent
  kWrongType = 6,       // value of the wrong JSON type
  kOutOfRange = 7,      // number outside its legal range
  kNotInSet = 8,        // string not one of the allowed words
  kNotPowerOfTwo = 9,   // integer in range but not a power of two
  kBadName = 10,        // empty string, or a name with illegal characters or too long
  kEmptyArray = 11,     // array that must not be empty is empty
  kDuplicateName = 12,  // two layers with the same name
  kBadInputRef = 13,    // layer "input" names no earlier layer
  kBadGroups = 14,      // groups does not divide in and out channels
  kBadOutputSize = 15,  // convolution output smaller than 1x1
  kShapeMismatch = 16,  // the two operands of add differ in shape
  kTooDeep = 17,        // arrays and objects nested deeper than kMaxJsonDepth
  kNumberTooLarge = 18, // a number beyond the range of a double (1e400)
  kNoSramMacro = 19,    // an SRAM table has no macro deep enough for a memory
};
}  // namespace config_code

// JSON pointer (RFC 6901) of a member or an element below `path` ("" is the document).
std::string json_path(const std::string& path, const std::string& key);
std::string json_path(const std::string& path, std::size_t index);
// The path as printed in messages: the document itself reads "(root)".
std::string json_path_display(const std::string& path);
// A short rendering of a value for messages (JSON text, cut after 40 characters).
std::string json_brief(const nlohmann::json& v);

// Throws ConfigError(code, "<path>: <msg>").
[[noreturn]] void config_fail(int code, const std::string& path, const std::string& msg);

// Reads the members of one JSON object. Construction fails unless `j` is an object.
// The getters throw kMissingKey, kWrongType, kOutOfRange, ... with the member's path and
// the legal values; those taking `def` return it when the key is absent.
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& j, std::string path);

  const std::string& path() const { return path_; }
  std::string path_of(const std::string& key) const { return json_path(path_, key); }
  bool has(const std::string& key) const { return j_->contains(key); }
  const nlohmann::json& value() const { return *j_; }

  // Fails with kUnknownKey on the first member whose key is not in `allowed`.
  void allow_only(const std::vector<std::string>& allowed) const;

  // Integer with lo <= value <= hi.
  int get_int(const std::string& key, int lo, int hi, std::optional<int> def = {}) const;
  // Power of two with lo <= value <= hi.
  int get_pow2(const std::string& key, int lo, int hi, std::optional<int> def = {}) const;
  // Any number with lo <= value <= hi, or lo < value <= hi when lo_open.
  double get_number(const std::string& key, double lo, double hi, bool lo_open,
                    std::optional<double> def = {}) const;
  bool get_bool(const std::string& key, std::optional<bool> def = {}) const;
  // Non-empty string.
  std::string get_string(const std::string& key, std::optional<std::string> def = {}) const;
  // One of `choices`.
  std::string get_enum(const std::string& key, const std::vector<std::string>& choices,
                       std::optional<std::string> def = {}) const;
  // Required member that is an object.
  ObjectReader get_object(const std::string& key) const;
  // Required member that is an array (non-empty if asked); elements are at
  // json_path(path_of(key), i).
  const nlohmann::json& get_array(const std::string& key, bool non_empty) const;

 private:
  // The member, or nullptr when absent.
  const nlohmann::json* find(const std::string& key) const;
  // The member; fails with kMissingKey ("<path>: missing required key; <expect>").
  const nlohmann::json& require(const std::string& key, const std::string& expect) const;

  const nlohmann::json* j_;
  std::string path_;
};

// The message of an error without its "[stage Ennn] " prefix.
std::string error_body(const Error& e);

// The deepest nesting of arrays and objects a JSON file may have; hdx's files use fewer than 8.
// Deeper text is rejected while it is parsed, before anything recurses over it.
constexpr int kMaxJsonDepth = 64;

// Parses JSON text read from `file` (named in messages). Fails with kSyntax (naming the
// byte, line and column), kDuplicateKey, kTooDeep or kNumberTooLarge (naming the JSON path).
nlohmann::json parse_json_text(const std::string& text, const std::string& file);

// Reads and parses a JSON file. Fails with kCannotRead or as parse_json_text; messages
// start with "<file>: ".
nlohmann::json read_json_file(const std::string& file);

// parse(read_json_file(file)), with "<file>: " put in front of any ConfigError message.
template <class Parse>
auto load_config_file(const std::string& file, Parse parse)
    -> decltype(parse(std::declval<const nlohmann::json&>())) {
  const nlohmann::json j = read_json_file(file);
  try {
    return parse(j);
  } catch (const ConfigError& e) {
    throw ConfigError(e.code(), file + ": " + error_body(e));
  }
}

}  // namespace hdx
