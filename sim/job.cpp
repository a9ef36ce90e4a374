#include "job.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace hdx {
namespace {

const char kJobMagic[8] = {'H', 'D', 'X', 'J', 'O', 'B', '2', 0};
const char kResMagic[8] = {'H', 'D', 'X', 'R', 'E', 'S', '2', 0};

struct Out {
  std::vector<uint8_t> b;
  void raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
  }
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

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot write " + path);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

std::vector<uint8_t> job_image(const SimJob& j) {
  Out o;
  o.b.reserve(j.dram.size() + 4 * (j.ld.size() + j.cmp.size() + j.st.size()) + 128);
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
  return std::move(o.b);
}

void write_job(const std::string& path, const SimJob& j) { write_bytes(path, job_image(j)); }

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

std::vector<uint8_t> result_image(const SimResult& r) {
  Out o;
  o.b.reserve(r.dram.size() + r.message.size() + 256);
  o.raw(kResMagic, 8);
  o.v(r.status);
  o.v(r.cycles_run);
  o.v(r.loop_ns);
  o.v(r.loop_cpu_ns);
  for (uint64_t c : r.counters) o.v(c);
  o.vec(r.dram);
  o.str(r.message);
  return std::move(o.b);
}

void write_result(const std::string& path, const SimResult& r) {
  write_bytes(path, result_image(r));
}

SimResult parse_result(const uint8_t* data, size_t size, const std::string& source) {
  In in{data, size, source};
  check_magic(in, kResMagic);
  SimResult r;
  r.status = in.v<uint32_t>();
  r.cycles_run = in.v<uint64_t>();
  r.loop_ns = in.v<uint64_t>();
  r.loop_cpu_ns = in.v<uint64_t>();
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

namespace {

// Whole reads and writes over a pipe or socket, retried on EINTR; MSG_NOSIGNAL keeps a
// vanished reader from raising SIGPIPE in the writer (plain write() on a non-socket).
bool put_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == ENOTSOCK) k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// Bytes read before the end of the stream (n unless it ended early).
size_t get_all(int fd, uint8_t* p, size_t n, const std::string& source) {
  size_t got = 0;
  while (got < n) {
    const ssize_t k = read(fd, p + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == ECONNRESET) break;  // the writer died with data unread: an end
    if (k < 0) throw std::runtime_error(source + ": read failed: " + std::strerror(errno));
    if (k == 0) break;
    got += static_cast<size_t>(k);
  }
  return got;
}

}  // namespace

bool write_frame(int fd, const std::vector<uint8_t>& bytes) {
  uint8_t head[8];
  const uint64_t n = bytes.size();
  std::memcpy(head, &n, 8);
  return put_all(fd, head, 8) && put_all(fd, bytes.data(), bytes.size());
}

bool read_frame(int fd, std::vector<uint8_t>& bytes, const std::string& source) {
  uint8_t head[8];
  const size_t h = get_all(fd, head, 8, source);
  if (h == 0) return false;
  if (h < 8) throw std::runtime_error(source + ": the stream ended inside a frame header");
  uint64_t n;
  std::memcpy(&n, head, 8);
  if (n > (uint64_t(1) << 34))
    throw std::runtime_error(source + ": a frame of " + std::to_string(n) + " bytes; the stream is corrupt");
  bytes.resize(n);
  if (get_all(fd, bytes.data(), n, source) != n)
    throw std::runtime_error(source + ": the stream ended inside a frame of " + std::to_string(n) + " bytes");
  return true;
}

}  // namespace hdx
