#include "npy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

#include "errors.h"

namespace hdx {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp assumes a little-endian host"
#endif

namespace {

// Error codes of this file (stage "io").
constexpr int kErrOpen = 401;
constexpr int kErrMagic = 402;
constexpr int kErrHeader = 403;
constexpr int kErrSize = 404;
constexpr int kErrWrite = 405;
constexpr int kErrDtype = 406;
constexpr int kErrZip = 407;
constexpr int kErrArray = 408;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;

size_t dtype_itemsize(const std::string& d) {
  if (d == "|i1" || d == "|u1") return 1;
  if (d == "<i4" || d == "<f4") return 4;
  if (d == "<i8") return 8;
  return 0;
}

// Normalizes the descr spellings NumPy may use for the supported types; returns "" if the
// descr is not supported.
std::string normalize_dtype(const std::string& d) {
  if (d.size() != 3) return "";
  const char order = d[0];
  const std::string t = d.substr(1);
  if (t == "i1" || t == "u1") {
    return (order == '|' || order == '<' || order == '>' || order == '=') ? "|" + t : "";
  }
  if (t == "i4" || t == "i8" || t == "f4") {
    return (order == '<' || order == '=') ? "<" + t : "";
  }
  return "";
}

std::string shape_str(const std::vector<size_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    s += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) s += " ";
  }
  return s + ")";
}

// Element count, or throws if it overflows size_t.
size_t checked_count(const std::vector<size_t>& shape, const std::string& where) {
  size_t n = 1;
  for (size_t d : shape) {
    if (d != 0 && n > SIZE_MAX / d) {
      throw IoError(kErrHeader, fmt::format("{}: shape {} is too large", where, shape_str(shape)));
    }
    n *= d;
  }
  return n;
}

// ---- header parsing: the Python dict literal of the .npy header ----

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : s_(text), src_(source) {}

  // Fills dtype, fortran and shape; every key must appear exactly once.
  void parse(std::string& dtype, bool& fortran, std::vector<size_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("key 'descr' appears twice");
        if (peek() != '\'' && peek() != '"') fail("'descr' is not a simple dtype string");
        dtype = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) fail("key 'fortran_order' appears twice");
        fortran = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) fail("key 'shape' appears twice");
        shape = parse_tuple();
        have_shape = true;
      } else {
        fail(fmt::format("unknown key '{}'", key));
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != '}') {
        fail("expected ',' or '}' after a value");
      }
    }
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the dictionary");
    if (!have_descr || !have_fortran || !have_shape) {
      fail("the dictionary must have the keys 'descr', 'fortran_order' and 'shape'");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw IoError(kErrHeader, fmt::format("{}: bad .npy header: {} (at offset {} of \"{}\")",
                                          src_, why, i_, printable()));
  }
  std::string printable() const {
    std::string out;
    for (char c : s_) {
      if (c == '\n') {
        out += "\\n";
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        out += '?';
      } else {
        out += c;
      }
      if (out.size() > 200) return out + "...";
    }
    return out;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' ||
                              s_[i_] == '\r')) {
      ++i_;
    }
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}'", c));
    ++i_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') fail("escapes are not supported in header strings");
      out += s_[i_++];
    }
    expect(q);
    return out;
  }
  bool parse_bool() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<size_t> parse_tuple() {
    std::vector<size_t> out;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++i_;
        return out;
      }
      if (peek() < '0' || peek() > '9') fail("expected a non-negative integer in the shape");
      size_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const size_t d = static_cast<size_t>(peek() - '0');
        if (v > (SIZE_MAX - d) / 10) fail("shape dimension too large");
        v = v * 10 + d;
        ++i_;
      }
      if (peek() == 'L') ++i_;  // Python 2 long suffix
      out.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != ')') {
        fail("expected ',' or ')' in the shape");
      }
    }
  }

  const std::string& s_;
  const std::string& src_;
  size_t i_ = 0;
};

uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t get_u64(const uint8_t* p) {
  return static_cast<uint64_t>(get_u32(p)) | (static_cast<uint64_t>(get_u32(p + 4)) << 32);
}
void put_u16(std::vector<uint8_t>& v, uint32_t x) {
  v.push_back(static_cast<uint8_t>(x));
  v.push_back(static_cast<uint8_t>(x >> 8));
}
void put_u32(std::vector<uint8_t>& v, uint32_t x) {
  put_u16(v, x & 0xFFFF);
  put_u16(v, x >> 16);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    throw IoError(kErrOpen, fmt::format("cannot open '{}' for reading; check that the file "
                                        "exists and is readable",
                                        path));
  }
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw IoError(kErrOpen, fmt::format("error while reading '{}'", path));
  return data;
}

// Writes bytes to a temporary file next to path, then renames it over path.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& data) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp =
      fmt::format("{}.tmp{}.{}", path, static_cast<long>(::getpid()), counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw IoError(kErrWrite, fmt::format("cannot create '{}' to write '{}': {}; check that the "
                                         "directory exists and is writable",
                                         tmp, path, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      std::remove(tmp.c_str());
      throw IoError(kErrWrite, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    const int err = errno;
    ::close(fd);
    std::remove(tmp.c_str());
    throw IoError(kErrWrite, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (::close(fd) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw IoError(kErrWrite, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw IoError(kErrWrite, fmt::format("cannot rename '{}' to '{}': {}", tmp, path,
                                         std::strerror(err)));
  }
}

}  // namespace

// ---- NpyArray ----

size_t NpyArray::size() const { return checked_count(shape, source.empty() ? "array" : source); }

size_t NpyArray::itemsize() const {
  const size_t n = dtype_itemsize(dtype);
  if (n == 0) {
    throw IoError(kErrDtype, fmt::format("{}: unsupported dtype '{}'; supported are |i1, |u1, "
                                         "<i4, <i8, <f4",
                                         source.empty() ? "array" : source, dtype));
  }
  return n;
}

void NpyArray::check_consistent(const std::string& where) const {
  const size_t want = size() * itemsize();
  if (bytes.size() != want) {
    throw IoError(kErrArray, fmt::format("{}: shape {} of dtype {} needs {} bytes, got {}", where,
                                         shape_str(shape), dtype, want, bytes.size()));
  }
}

void NpyArray::check_dtype(const char* want) const {
  if (dtype != want) {
    throw IoError(kErrDtype, fmt::format("{}: array has dtype '{}', expected '{}'; convert it "
                                         "with numpy's astype before saving",
                                         source.empty() ? "array" : source, dtype, want));
  }
}

// ---- .npy ----

std::vector<uint8_t> npy_bytes(const NpyArray& a) {
  a.check_consistent(a.source.empty() ? "write_npy" : a.source);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   a.dtype, shape_str(a.shape));
  // Pad with spaces, then '\n', so that magic (6) + version (2) + length (2) + header is a
  // multiple of 64.
  const size_t fixed = kMagicLen + 2 + 2;
  const size_t total = (fixed + header.size() + 1 + kAlign - 1) / kAlign * kAlign;
  header.append(total - fixed - header.size() - 1, ' ');
  header.push_back('\n');
  if (header.size() > 0xFFFF) {
    throw IoError(kErrArray, fmt::format("write_npy: header of shape {} is too long for .npy "
                                         "version 1.0",
                                         shape_str(a.shape)));
  }
  std::vector<uint8_t> out(total + a.bytes.size());
  std::memcpy(out.data(), kMagic, kMagicLen);
  out[6] = 1;  // version 1.0
  out[7] = 0;
  out[8] = static_cast<uint8_t>(header.size() & 0xFF);
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + fixed, header.data(), header.size());
  if (!a.bytes.empty()) std::memcpy(out.data() + total, a.bytes.data(), a.bytes.size());
  return out;
}

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& source) {
  if (size < kMagicLen + 2 || std::memcmp(data, kMagic, kMagicLen) != 0) {
    throw IoError(kErrMagic, fmt::format("{}: not a .npy file (bad magic string); expected a "
                                         "file written by numpy.save",
                                         source));
  }
  const int major = data[6];
  size_t len_bytes = 0;
  if (major == 1) {
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    len_bytes = 4;
  } else {
    throw IoError(kErrHeader, fmt::format("{}: unsupported .npy format version {}.{}", source,
                                          major, static_cast<int>(data[7])));
  }
  const size_t fixed = kMagicLen + 2 + len_bytes;
  if (size < fixed) {
    throw IoError(kErrHeader, fmt::format("{}: truncated .npy header", source));
  }
  const size_t hlen = len_bytes == 2 ? get_u16(data + 8) : get_u32(data + 8);
  if (hlen > size - fixed) {
    throw IoError(kErrHeader, fmt::format("{}: .npy header says {} header bytes, file has only "
                                          "{} after the magic",
                                          source, hlen, size - fixed));
  }
  const std::string text(reinterpret_cast<const char*>(data + fixed), hlen);
  std::string descr;
  bool fortran = false;
  NpyArray a;
  a.source = source;
  HeaderParser(text, source).parse(descr, fortran, a.shape);
  a.dtype = normalize_dtype(descr);
  if (a.dtype.empty()) {
    throw IoError(kErrDtype, fmt::format("{}: unsupported dtype '{}'; supported are |i1, |u1, "
                                         "<i4, <i8, <f4 (little-endian)",
                                         source, descr));
  }
  if (fortran) {
    // Fortran order is the same as C order when at most one dimension exceeds 1.
    size_t big = 0;
    for (size_t d : a.shape) big += d > 1 ? 1 : 0;
    if (big > 1) {
      throw IoError(kErrHeader, fmt::format("{}: Fortran-order arrays are not supported; save "
                                            "with numpy.ascontiguousarray",
                                            source));
    }
  }
  const size_t count = checked_count(a.shape, source);
  const size_t item = a.itemsize();
  if (count > SIZE_MAX / item) {
    throw IoError(kErrHeader, fmt::format("{}: shape {} is too large", source, shape_str(a.shape)));
  }
  const size_t want = count * item;
  const size_t have = size - fixed - hlen;
  if (want != have) {
    throw IoError(kErrSize, fmt::format("{}: shape {} of dtype {} needs {} data bytes, file has "
                                        "{}; the file is truncated or corrupt",
                                        source, shape_str(a.shape), a.dtype, want, have));
  }
  a.bytes.assign(data + fixed + hlen, data + size);
  return a;
}

void write_npy(const std::string& path, const NpyArray& a) {
  write_file_atomic(path, npy_bytes(a));
}

namespace {
template <class T>
void write_typed(const std::string& path, const std::vector<T>& data,
                 const std::vector<size_t>& shape) {
  NpyArray a;
  try {
    a = NpyArray::from(data, shape);
  } catch (const IoError&) {
    throw IoError(kErrArray, fmt::format("write_npy '{}': shape {} has {} elements, data has {}",
                                         path, shape_str(shape),
                                         checked_count(shape, path), data.size()));
  }
  write_npy(path, a);
}
}  // namespace

void write_npy(const std::string& path, const std::vector<int8_t>& data,
               const std::vector<size_t>& shape) {
  write_typed(path, data, shape);
}
void write_npy(const std::string& path, const std::vector<uint8_t>& data,
               const std::vector<size_t>& shape) {
  write_typed(path, data, shape);
}
void write_npy(const std::string& path, const std::vector<int32_t>& data,
               const std::vector<size_t>& shape) {
  write_typed(path, data, shape);
}
void write_npy(const std::string& path, const std::vector<int64_t>& data,
               const std::vector<size_t>& shape) {
  write_typed(path, data, shape);
}
void write_npy(const std::string& path, const std::vector<float>& data,
               const std::vector<size_t>& shape) {
  write_typed(path, data, shape);
}

NpyArray read_npy(const std::string& path) {
  const std::vector<uint8_t> data = read_file(path);
  return parse_npy(data.data(), data.size(), path);
}

// ---- .npz ----

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint16_t kDosTime = 0;                    // 00:00:00
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01

uint32_t crc_of(const std::vector<uint8_t>& v) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const uint8_t* p = v.data();
  size_t left = v.size();
  while (left > 0) {  // zlib takes uInt lengths
    const uInt n = static_cast<uInt>(left > 0x40000000 ? 0x40000000 : left);
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, NpyArray>>& arrays) {
  std::vector<uint8_t> out, central;
  std::set<std::string> seen;
  for (const auto& [name, array] : arrays) {
    if (name.empty() || !seen.insert(name).second || name.size() > 0xFFFF - 4) {
      throw IoError(kErrArray, fmt::format("write_npz '{}': array name '{}' is empty, repeated "
                                           "or too long; give each array a unique name",
                                           path, name));
    }
    const std::string member = name + ".npy";
    const std::vector<uint8_t> body = npy_bytes(array);
    const uint32_t crc = crc_of(body);
    if (body.size() >= 0xFFFFFFFFull || out.size() >= 0xFFFFFFFFull) {
      throw IoError(kErrZip, fmt::format("write_npz '{}': archive exceeds 4 GiB; write one .npy "
                                         "per array instead",
                                         path));
    }
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t sz = static_cast<uint32_t>(body.size());
    // Local file header.
    put_u32(out, kLocalSig);
    put_u16(out, 20);  // version needed: 2.0
    put_u16(out, 0);   // flags
    put_u16(out, 0);   // method: stored
    put_u16(out, kDosTime);
    put_u16(out, kDosDate);
    put_u32(out, crc);
    put_u32(out, sz);
    put_u32(out, sz);
    put_u16(out, static_cast<uint32_t>(member.size()));
    put_u16(out, 0);  // extra length
    out.insert(out.end(), member.begin(), member.end());
    out.insert(out.end(), body.begin(), body.end());
    // Central directory entry.
    put_u32(central, kCentralSig);
    put_u16(central, 20);  // version made by: 2.0, MS-DOS
    put_u16(central, 20);  // version needed
    put_u16(central, 0);
    put_u16(central, 0);
    put_u16(central, kDosTime);
    put_u16(central, kDosDate);
    put_u32(central, crc);
    put_u32(central, sz);
    put_u32(central, sz);
    put_u16(central, static_cast<uint32_t>(member.size()));
    put_u16(central, 0);  // extra length
    put_u16(central, 0);  // comment length
    put_u16(central, 0);  // disk number
    put_u16(central, 0);  // internal attributes
    put_u32(central, 0);  // external attributes
    put_u32(central, offset);
    central.insert(central.end(), member.begin(), member.end());
  }
  if (arrays.size() >= 0xFFFF || out.size() + central.size() >= 0xFFFFFFFFull) {
    throw IoError(kErrZip, fmt::format("write_npz '{}': too many arrays or too large for a zip "
                                       "without zip64; write one .npy per array instead",
                                       path));
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  const uint32_t cd_size = static_cast<uint32_t>(central.size());
  out.insert(out.end(), central.begin(), central.end());
  put_u32(out, kEndSig);
  put_u16(out, 0);  // this disk
  put_u16(out, 0);  // disk with the central directory
  put_u16(out, static_cast<uint32_t>(arrays.size()));
  put_u16(out, static_cast<uint32_t>(arrays.size()));
  put_u32(out, cd_size);
  put_u32(out, cd_offset);
  put_u16(out, 0);  // comment length
  write_file_atomic(path, out);
}

std::vector<std::pair<std::string, NpyArray>> read_npz(const std::string& path) {
  const std::vector<uint8_t> d = read_file(path);
  return parse_npz(d.data(), d.size(), path);
}

std::vector<std::pair<std::string, NpyArray>> parse_npz(const uint8_t* data, size_t size,
                                                        const std::string& path) {
  const std::vector<uint8_t> d(data, data + size);
  auto bad = [&](const std::string& why) -> IoError {
    return IoError(kErrZip, fmt::format("{}: not a valid .npz archive: {}", path, why));
  };
  // End of central directory: 22 bytes plus a comment of up to 65535 bytes.
  if (d.size() < 22) throw bad("file too short");
  size_t end = SIZE_MAX;
  const size_t lowest = d.size() > 22 + 0xFFFF ? d.size() - 22 - 0xFFFF : 0;
  for (size_t i = d.size() - 22 + 1; i-- > lowest;) {
    if (get_u32(&d[i]) == kEndSig) {
      end = i;
      break;
    }
  }
  if (end == SIZE_MAX) throw bad("no end-of-central-directory record");
  const size_t entries = get_u16(&d[end + 10]);
  const size_t cd_size = get_u32(&d[end + 12]);
  const size_t cd_offset = get_u32(&d[end + 16]);
  if (entries == 0xFFFF || cd_offset == 0xFFFFFFFF) throw bad("zip64 archives are not supported");
  if (cd_offset > end || cd_size > end - cd_offset) throw bad("central directory out of range");

  std::vector<std::pair<std::string, NpyArray>> out;
  size_t p = cd_offset;
  for (size_t e = 0; e < entries; ++e) {
    if (p + 46 > end || get_u32(&d[p]) != kCentralSig) throw bad("bad central directory entry");
    const uint16_t flags = get_u16(&d[p + 8]);
    const uint16_t method = get_u16(&d[p + 10]);
    const uint32_t crc = get_u32(&d[p + 16]);
    uint64_t csize = get_u32(&d[p + 20]);
    uint64_t usize = get_u32(&d[p + 24]);
    const size_t nlen = get_u16(&d[p + 28]);
    const size_t xlen = get_u16(&d[p + 30]);
    const size_t clen = get_u16(&d[p + 32]);
    uint64_t local = get_u32(&d[p + 42]);
    if (p + 46 + nlen + xlen + clen > end) throw bad("central directory entry out of range");
    std::string name(reinterpret_cast<const char*>(&d[p + 46]), nlen);
    // Zip64 extended information: the 64-bit values of the fields set to 0xFFFFFFFF.
    for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const uint16_t id = get_u16(&d[x]);
      const size_t len = get_u16(&d[x + 2]);
      if (x + 4 + len > p + 46 + nlen + xlen) throw bad("bad extra field");
      if (id == 0x0001) {
        size_t q = x + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFFull) return;
          if (q + 8 > x + 4 + len) throw bad("short zip64 extra field");
          field = get_u64(&d[q]);
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      x += 4 + len;
    }
    p += 46 + nlen + xlen + clen;
    if (flags & 1) throw bad(fmt::format("member '{}' is encrypted", name));
    if (method != 0) {
      throw IoError(kErrZip, fmt::format("{}: member '{}' is compressed (method {}); only stored "
                                         "archives are read, save with numpy.savez rather than "
                                         "savez_compressed",
                                         path, name, method));
    }
    if (csize != usize) throw bad(fmt::format("member '{}' has inconsistent sizes", name));
    if (local > d.size() || d.size() - local < 30 || get_u32(&d[local]) != kLocalSig) {
      throw bad(fmt::format("bad local header for member '{}'", name));
    }
    const size_t data_at = local + 30 + get_u16(&d[local + 26]) + get_u16(&d[local + 28]);
    if (data_at > d.size() || usize > d.size() - data_at) {
      throw bad(fmt::format("member '{}' runs past the end of the file", name));
    }
    const std::vector<uint8_t> body(d.begin() + static_cast<std::ptrdiff_t>(data_at),
                                    d.begin() + static_cast<std::ptrdiff_t>(data_at + usize));
    if (crc_of(body) != crc) throw bad(fmt::format("CRC mismatch in member '{}'", name));
    NpyArray a = parse_npy(body.data(), body.size(), fmt::format("{}[{}]", path, name));
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) {
      name.resize(name.size() - 4);
    }
    out.emplace_back(std::move(name), std::move(a));
  }
  return out;
}

}  // namespace hdx
