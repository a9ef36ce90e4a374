#include "data.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "errors.h"

namespace hdx {

namespace {

constexpr int kErrMissing = 30, kErrFormat = 31;

// The whole (gunzipped) content of a file.
std::vector<uint8_t> read_gz(const std::string& path, const std::string& hint) {
  if (!std::filesystem::is_regular_file(path))
    throw IoError(kErrMissing, fmt::format("{}: data set file not found; {}", path, hint), 2);
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) throw IoError(kErrMissing, fmt::format("{}: cannot open; {}", path, hint), 2);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f.get(), buf, sizeof buf);
    if (n < 0) throw IoError(kErrFormat, fmt::format("{}: not a readable gzip file", path), 2);
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

uint32_t be32(const std::vector<uint8_t>& b, std::size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) |
         uint32_t(b[at + 3]);
}

// An IDX file: magic 0x0000 08 <dims>, then big-endian sizes, then unsigned bytes.
std::vector<uint32_t> idx_dims(const std::vector<uint8_t>& b, const std::string& path,
                               int want_dims) {
  if (b.size() < 4 + 4u * want_dims || be32(b, 0) != 0x800u + static_cast<uint32_t>(want_dims))
    throw IoError(kErrFormat, fmt::format("{}: not an IDX file of unsigned bytes with {} "
                                          "dimensions", path, want_dims), 2);
  std::vector<uint32_t> d;
  std::size_t size = 1;
  for (int i = 0; i < want_dims; ++i) {
    d.push_back(be32(b, 4 + 4u * i));
    size *= d.back();
  }
  if (b.size() != 4 + 4u * want_dims + size)
    throw IoError(kErrFormat, fmt::format("{}: IDX header promises {} bytes of data, the file "
                                          "holds {}", path, size, b.size() - 4 - 4 * want_dims), 2);
  return d;
}

Images fashion_mnist(const std::string& dir, bool train, int limit) {
  const std::string hint =
      "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set "
      "dataset.path in the spec to the folder holding the four .gz files";
  const std::string stem = dir + "/" + (train ? "train" : "t10k");
  const std::string ip = stem + "-images-idx3-ubyte.gz", lp = stem + "-labels-idx1-ubyte.gz";
  const std::vector<uint8_t> ib = read_gz(ip, hint), lb = read_gz(lp, hint);
  const std::vector<uint32_t> id = idx_dims(ib, ip, 3), ld = idx_dims(lb, lp, 1);
  if (id[0] != ld[0])
    throw IoError(kErrFormat, fmt::format("{} holds {} images but {} holds {} labels", ip, id[0],
                                          lp, ld[0]), 2);
  Images m;
  m.n = static_cast<int>(limit > 0 ? std::min<uint32_t>(id[0], static_cast<uint32_t>(limit)) : id[0]);
  m.c = 1;
  m.h = static_cast<int>(id[1]);
  m.w = static_cast<int>(id[2]);
  const std::size_t per = static_cast<std::size_t>(m.h) * m.w;
  m.pixels.assign(ib.begin() + 16, ib.begin() + 16 + static_cast<long>(per * m.n));
  m.labels.assign(lb.begin() + 8, lb.begin() + 8 + m.n);
  for (int i = 0; i < m.n; ++i)
    if (m.labels[static_cast<std::size_t>(i)] > 9)
      throw IoError(kErrFormat, fmt::format("{}: label {} of image {} is not 0..9", lp,
                                            m.labels[static_cast<std::size_t>(i)], i), 2);
  return m;
}

// CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes (R, G, B planes).
Images cifar10(const std::string& dir, bool train, int limit) {
  std::vector<std::string> files;
  if (train)
    for (int i = 1; i <= 5; ++i) files.push_back(fmt::format("{}/data_batch_{}.bin", dir, i));
  else
    files.push_back(dir + "/test_batch.bin");
  constexpr std::size_t kRec = 1 + 3072;
  Images m;
  m.c = 3;
  m.h = m.w = 32;
  for (const std::string& f : files) {
    if (limit > 0 && m.n >= limit) break;
    std::ifstream in(f, std::ios::binary);
    if (!in)
      throw IoError(kErrMissing, fmt::format("{}: CIFAR-10 batch not found; set dataset.path to "
                                             "the folder of the binary version (cifar-10-batches-bin)",
                                             f), 2);
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (b.empty() || b.size() % kRec != 0)
      throw IoError(kErrFormat, fmt::format("{}: {} bytes is not a whole number of {}-byte "
                                            "CIFAR-10 records", f, b.size(), kRec), 2);
    for (std::size_t r = 0; r < b.size() / kRec && !(limit > 0 && m.n >= limit); ++r, ++m.n) {
      if (b[r * kRec] > 9)
        throw IoError(kErrFormat, fmt::format("{}: record {} has label {}, not 0..9", f, r,
                                              b[r * kRec]), 2);
      m.labels.push_back(b[r * kRec]);
      m.pixels.insert(m.pixels.end(), b.begin() + static_cast<long>(r * kRec + 1),
                      b.begin() + static_cast<long>((r + 1) * kRec));
    }
  }
  return m;
}

}  // namespace

std::string default_data_dir(const std::string& name) {
  return name == "fashion-mnist" ? "/usr/share/datasets/fashion-mnist" : "";
}

Images load_images(const std::string& name, const std::string& dir, bool train, int limit) {
  return name == "cifar10" ? cifar10(dir, train, limit) : fashion_mnist(dir, train, limit);
}

}  // namespace hdx
