#include "job.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace hdx {
namespace {

const char kJobMagic[8] = {'H', 'D', 'X', 'J', 'O', 'B', '2', 0};
const char kResMagic[8] = {'H', 'D', 'X', 'R', 'E', 'S', '1', 0};

struct Out {
  std::ofstream f;
  void raw(const void* p, size_t n) { f.write(static_cast<const char*>(p), std::streamsize(n)); }
  template <class T> void v(T x) { raw(&x, sizeof x); }
  template <class T> void vec(const std::vector<T>& x) {
    v<uint64_t>(x.size());
    raw(x.data(), x.size() * sizeof(T));
  }
  void str(const std::string& s) {
    v<uint64_t>(s.size());
    raw(s.data(), s.size());
  }
};

// Reads a job or result image, checking every length against the bytes left, so that a
// truncated or corrupt file is an error and never a huge allocation or a read past the end.
struct In {
  const uint8_t* p;
  size_t left;
  std::string path;
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(path + ": " + why + "; the file is truncated or corrupt");
  }
  void raw(void* out, size_t n) {
    if (n > left) fail("ends early");
    if (n != 0) std::memcpy(out, p, n);
    p += n;
    left -= n;
  }
  template <class T> T v() {
    T x;
    raw(&x, sizeof x);
    return x;
  }
  template <class T> std::vector<T> vec() {
    const uint64_t n = v<uint64_t>();
    if (n > left / sizeof(T)) fail("an array of " + std::to_string(n) + " elements is longer than the file");
    std::vector<T> x(n);
    raw(x.data(), x.size() * sizeof(T));
    return x;
  }
  std::string str() {
    const uint64_t n = v<uint64_t>();
    if (n > left) fail("a string of " + std::to_string(n) + " bytes is longer than the file");
    std::string s(n, '\0');
    raw(s.data(), s.size());
    return s;
  }
  void end() const {
    if (left != 0) fail(std::to_string(left) + " bytes after the end");
  }
};

void check_magic(In& in, const char* magic) {
  char m[8];
  if (in.left < 8) in.fail("too short for its header");
  in.raw(m, 8);
  if (std::memcmp(m, magic, 8) != 0) in.fail("bad magic");
}

// A command stream of `words` words per command.
void check_stream(const In& in, const char* name, uint32_t words, const std::vector<uint32_t>& v) {
  if (words == 0 || words > 64) in.fail(std::string(name) + " commands of " + std::to_string(words) + " words");
  if (v.size() % words != 0) in.fail(std::string(name) + " stream not a whole number of commands");
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw std::runtime_error("cannot read " + path);
  return data;
}

}  // namespace

void write_job(const std::string& path, const SimJob& j) {
  Out o{std::ofstream(path, std::ios::binary)};
  if (!o.f) throw std::runtime_error("cannot write " + path);
  o.raw(kJobMagic, 8);
  o.v(j.latency);
  o.v(j.backpressure);
  o.v(j.seed);
  o.v(j.max_cycles);
  o.v(j.ld_words);
  o.v(j.cmp_words);
  o.v(j.st_words);
  o.vec(j.ld);
  o.vec(j.cmp);
  o.vec(j.st);
  o.vec(j.dram);
  o.str(j.fst_path);
  if (!o.f) throw std::runtime_error("cannot write " + path);
}

SimJob parse_job(const uint8_t* data, size_t size, const std::string& source) {
  In in{data, size, source};
  check_magic(in, kJobMagic);
  SimJob j;
  j.latency = in.v<uint32_t>();
  j.backpressure = in.v<uint64_t>();
  j.seed = in.v<uint64_t>();
  j.max_cycles = in.v<uint64_t>();
  j.ld_words = in.v<uint32_t>();
  j.cmp_words = in.v<uint32_t>();
  j.st_words = in.v<uint32_t>();
  j.ld = in.vec<uint32_t>();
  j.cmp = in.vec<uint32_t>();
  j.st = in.vec<uint32_t>();
  j.dram = in.vec<uint8_t>();
  j.fst_path = in.str();
  in.end();
  check_stream(in, "load", j.ld_words, j.ld);
  check_stream(in, "compute", j.cmp_words, j.cmp);
  check_stream(in, "store", j.st_words, j.st);
  return j;
}

SimJob read_job(const std::string& path) {
  const std::vector<uint8_t> d = read_bytes(path);
  return parse_job(d.data(), d.size(), path);
}

void write_result(const std::string& path, const SimResult& r) {
  Out o{std::ofstream(path, std::ios::binary)};
  if (!o.f) throw std::runtime_error("cannot write " + path);
  o.raw(kResMagic, 8);
  o.v(r.status);
  o.v(r.cycles_run);
  for (uint64_t c : r.counters) o.v(c);
  o.vec(r.dram);
  o.str(r.message);
  if (!o.f) throw std::runtime_error("cannot write " + path);
}

SimResult parse_result(const uint8_t* data, size_t size, const std::string& source) {
  In in{data, size, source};
  check_magic(in, kResMagic);
  SimResult r;
  r.status = in.v<uint32_t>();
  r.cycles_run = in.v<uint64_t>();
  for (uint64_t& c : r.counters) c = in.v<uint64_t>();
  r.dram = in.vec<uint8_t>();
  r.message = in.str();
  in.end();
  if (r.status > 5) in.fail("status " + std::to_string(r.status) + " (0 to 5)");
  return r;
}

SimResult read_result(const std::string& path) {
  const std::vector<uint8_t> d = read_bytes(path);
  return parse_result(d.data(), d.size(), path);
}

}  // namespace hdx
