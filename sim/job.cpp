#include "job.h"

#include <cstring>
#include <fstream>
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

struct In {
  std::ifstream f;
  std::string path;
  void raw(void* p, size_t n) {
    f.read(static_cast<char*>(p), std::streamsize(n));
    if (!f) throw std::runtime_error("truncated file " + path);
  }
  template <class T> T v() {
    T x;
    raw(&x, sizeof x);
    return x;
  }
  template <class T> std::vector<T> vec() {
    std::vector<T> x(v<uint64_t>());
    raw(x.data(), x.size() * sizeof(T));
    return x;
  }
  std::string str() {
    std::string s(v<uint64_t>(), '\0');
    raw(s.data(), s.size());
    return s;
  }
};

void check_magic(In& in, const char* magic) {
  char m[8];
  in.raw(m, 8);
  if (std::memcmp(m, magic, 8) != 0) throw std::runtime_error("bad magic in " + in.path);
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

SimJob read_job(const std::string& path) {
  In in{std::ifstream(path, std::ios::binary), path};
  if (!in.f) throw std::runtime_error("cannot read " + path);
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
  return j;
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

SimResult read_result(const std::string& path) {
  In in{std::ifstream(path, std::ios::binary), path};
  if (!in.f) throw std::runtime_error("cannot read " + path);
  check_magic(in, kResMagic);
  SimResult r;
  r.status = in.v<uint32_t>();
  r.cycles_run = in.v<uint64_t>();
  for (uint64_t& c : r.counters) c = in.v<uint64_t>();
  r.dram = in.vec<uint8_t>();
  r.message = in.str();
  return r;
}

}  // namespace hdx
