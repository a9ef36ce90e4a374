#include "json_util.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace hdx {

using nlohmann::json;

std::string json_path(const std::string& path, const std::string& key) {
  std::string out = path + "/";
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string json_path(const std::string& path, std::size_t index) {
  return path + "/" + std::to_string(index);
}

std::string json_path_display(const std::string& path) {
  return path.empty() ? "(root)" : path;
}

namespace {

// Appends the JSON text of v to out, stopping soon after out holds more than `limit`
// characters; every level of nesting adds a character, so recursion stays shallow however
// deep v is.
void brief_into(const json& v, std::string& out, std::size_t limit) {
  if (out.size() > limit) return;
  if (v.is_array() || v.is_object()) {
    out += v.is_array() ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end() && out.size() <= limit; ++it) {
      if (!first) out += ',';
      first = false;
      if (v.is_object()) out += json(it.key()).dump() + ':';
      brief_into(*it, out, limit);
    }
    out += v.is_array() ? ']' : '}';
  } else if (v.is_string() && v.get_ref<const std::string&>().size() > limit) {
    out += json(v.get_ref<const std::string&>().substr(0, limit)).dump();
  } else {
    out += v.dump();
  }
}

}  // namespace

std::string json_brief(const json& v) {
  std::string s;
  brief_into(v, s, 40);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

void config_fail(int code, const std::string& path, const std::string& msg) {
  throw ConfigError(code, json_path_display(path) + ": " + msg);
}

namespace {

// The value as a 64-bit integer; false when it is not a JSON integer or does not fit.
bool as_int64(const json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

}  // namespace

ObjectReader::ObjectReader(const json& j, std::string path) : j_(&j), path_(std::move(path)) {
  if (!j.is_object()) config_fail(config_code::kWrongType, path_, "must be an object, got " + json_brief(j));
}

void ObjectReader::allow_only(const std::vector<std::string>& allowed) const {
  for (const auto& item : j_->items()) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || item.key() == a;
    if (!ok) {
      config_fail(config_code::kUnknownKey, path_of(item.key()),
                  "unknown key (allowed: " + join(allowed) + ")");
    }
  }
}

const json* ObjectReader::find(const std::string& key) const {
  auto it = j_->find(key);
  return it == j_->end() ? nullptr : &*it;
}

const json& ObjectReader::require(const std::string& key, const std::string& expect) const {
  const json* v = find(key);
  if (!v) config_fail(config_code::kMissingKey, path_of(key), "missing required key; " + expect);
  return *v;
}

int ObjectReader::get_int(const std::string& key, int lo, int hi, std::optional<int> def) const {
  const std::string expect = lo == hi ? fmt::format("must be {}", lo)
                                      : fmt::format("must be an integer between {} and {}", lo, hi);
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  std::int64_t x = 0;
  if (!v.is_number_integer()) {
    config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  }
  if (!as_int64(v, x) || x < lo || x > hi) {
    config_fail(config_code::kOutOfRange, path_of(key), expect + ", got " + json_brief(v));
  }
  return static_cast<int>(x);
}

int ObjectReader::get_pow2(const std::string& key, int lo, int hi, std::optional<int> def) const {
  const std::string expect = fmt::format("must be a power of two between {} and {}", lo, hi);
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  std::int64_t x = 0;
  if (!v.is_number_integer()) {
    config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  }
  if (!as_int64(v, x) || x < lo || x > hi) {
    config_fail(config_code::kOutOfRange, path_of(key), expect + ", got " + json_brief(v));
  }
  if ((x & (x - 1)) != 0) {
    config_fail(config_code::kNotPowerOfTwo, path_of(key), expect + ", got " + json_brief(v));
  }
  return static_cast<int>(x);
}

double ObjectReader::get_number(const std::string& key, double lo, double hi, bool lo_open,
                                std::optional<double> def) const {
  const std::string expect =
      lo_open ? fmt::format("must be a number greater than {} and at most {}", lo, hi)
              : fmt::format("must be a number between {} and {}", lo, hi);
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  if (!v.is_number()) {
    config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  }
  const double x = v.get<double>();
  if ((lo_open ? x <= lo : x < lo) || x > hi) {
    config_fail(config_code::kOutOfRange, path_of(key), expect + ", got " + json_brief(v));
  }
  return x;
}

bool ObjectReader::get_bool(const std::string& key, std::optional<bool> def) const {
  const std::string expect = "must be true or false";
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  if (!v.is_boolean()) config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  return v.get<bool>();
}

std::string ObjectReader::get_string(const std::string& key, std::optional<std::string> def) const {
  const std::string expect = "must be a non-empty string";
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  if (!v.is_string()) config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  std::string s = v.get<std::string>();
  if (s.empty()) config_fail(config_code::kBadName, path_of(key), expect + ", got \"\"");
  return s;
}

std::string ObjectReader::get_enum(const std::string& key, const std::vector<std::string>& choices,
                                   std::optional<std::string> def) const {
  const std::string expect = "must be one of: " + join(choices);
  if (def && !has(key)) return *def;
  const json& v = require(key, expect);
  if (!v.is_string()) config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  std::string s = v.get<std::string>();
  for (const auto& c : choices) {
    if (s == c) return s;
  }
  config_fail(config_code::kNotInSet, path_of(key), expect + ", got " + json_brief(v));
}

ObjectReader ObjectReader::get_object(const std::string& key) const {
  return ObjectReader(require(key, "must be an object"), path_of(key));
}

const json& ObjectReader::get_array(const std::string& key, bool non_empty) const {
  const std::string expect = non_empty ? "must be a non-empty array" : "must be an array";
  const json& v = require(key, expect);
  if (!v.is_array()) config_fail(config_code::kWrongType, path_of(key), expect + ", got " + json_brief(v));
  if (non_empty && v.empty()) config_fail(config_code::kEmptyArray, path_of(key), expect + ", got []");
  return v;
}

std::string error_body(const Error& e) {
  const std::string prefix = fmt::format("[{} E{:03d}] ", e.stage(), e.code());
  std::string s = e.what();
  if (s.compare(0, prefix.size(), prefix) == 0) s.erase(0, prefix.size());
  return s;
}

namespace {

// Parser callback that rejects a key given twice in one object (nlohmann::json itself keeps
// the last value silently) and nesting deeper than kMaxJsonDepth, and that knows the path of
// the value being parsed, for messages about it. The state lives outside the callback, which
// nlohmann::json copies.
class ParseCheck {
 public:
  struct Frame {
    bool is_array;
    std::size_t count;  // elements started so far (arrays)
    std::set<std::string> keys;
    std::string key;  // current member (objects)
  };
  using Frames = std::vector<Frame>;

  ParseCheck(const std::string* file, Frames* frames) : file_(file), frames_(frames) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    Frames& frames = *frames_;
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        begin_element();
        if (frames.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
          throw ConfigError(
              config_code::kTooDeep,
              fmt::format("{}: arrays and objects nested more than {} deep (at {}); hdx files "
                          "need only a few levels, check how the file was written",
                          *file_, kMaxJsonDepth, json_path_display(value_path(frames))));
        }
        frames.push_back(Frame{event == json::parse_event_t::array_start, 0, {}, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        break;
      case json::parse_event_t::key: {
        Frame& top = frames.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          throw ConfigError(config_code::kDuplicateKey,
                            fmt::format("{}: {}: duplicate key (each key may appear once per object)",
                                        *file_, json_path_display(value_path(frames))));
        }
        break;
      }
      case json::parse_event_t::value:
        begin_element();
        break;
    }
    return true;
  }

  // Path of the value being read: the member whose key was read last, or the element of the
  // innermost array begun last; with `next`, the element of that array not yet begun.
  static std::string value_path(const Frames& frames, bool next = false) {
    std::string p;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const Frame& f = frames[i];
      const bool ahead = next && i + 1 == frames.size();
      p = f.is_array ? json_path(p, ahead ? f.count : f.count - 1) : json_path(p, f.key);
    }
    return p;
  }

 private:
  void begin_element() {
    if (!frames_->empty() && frames_->back().is_array) ++frames_->back().count;
  }

  const std::string* file_;
  Frames* frames_;
};

}  // namespace

json parse_json_text(const std::string& text, const std::string& file) {
  ParseCheck::Frames frames;
  try {
    return json::parse(text, ParseCheck(&file, &frames));
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line L, column C: ...".
    std::string msg = e.what();
    const auto pos = msg.find("] ");
    if (msg.rfind("[json.exception.", 0) == 0 && pos != std::string::npos) msg.erase(0, pos + 2);
    throw ConfigError(config_code::kSyntax,
                      fmt::format("{}: invalid JSON at byte {}: {}", file, e.byte, msg));
  } catch (const json::out_of_range& e) {
    // 406: a number beyond the range of a double ("1e400"); the parser stops before the
    // value is reported to the callback, so the value is the next one.
    std::string msg = e.what();
    const auto q = msg.find('\'');
    const std::string number =
        q == std::string::npos ? "" : msg.substr(q + 1, msg.find('\'', q + 1) - q - 1);
    throw ConfigError(config_code::kNumberTooLarge,
                      fmt::format("{}: {}: number {} is too large (at most about 1.8e308); "
                                  "write a value in the key's range",
                                  file, json_path_display(ParseCheck::value_path(frames, true)),
                                  number.substr(0, 40)));
  }
}

json read_json_file(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw ConfigError(config_code::kCannotRead, fmt::format("cannot read {}: is a directory", file));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ConfigError(config_code::kCannotRead,
                      fmt::format("cannot read {}: {}", file, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(config_code::kCannotRead,
                      fmt::format("cannot read {}: {}", file, std::strerror(errno)));
  }
  return parse_json_text(text.str(), file);
}

}  // namespace hdx
