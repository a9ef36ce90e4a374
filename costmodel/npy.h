// NumPy .npy (format version 1.0) and .npz (zip, stored) files.
//
// Supported dtypes: int8 '|i1', uint8 '|u1', int32 '<i4', int64 '<i8', float32 '<f4'; C order;
// any shape (an empty shape is a 0-d array holding one value). Writes go to a temporary file
// in the target's directory that is renamed over the target once complete, so an interrupted
// write never leaves a half-written file. All errors are IoError naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace hdx {

// The NumPy descr string of an element type ("|i1", "|u1", "<i4", "<i8", "<f4").
template <class T>
const char* npy_dtype() = delete;
template <>
inline const char* npy_dtype<int8_t>() { return "|i1"; }
template <>
inline const char* npy_dtype<uint8_t>() { return "|u1"; }
template <>
inline const char* npy_dtype<int32_t>() { return "<i4"; }
template <>
inline const char* npy_dtype<int64_t>() { return "<i8"; }
template <>
inline const char* npy_dtype<float>() { return "<f4"; }

// One array: dtype, shape and the raw little-endian bytes in C order.
struct NpyArray {
  std::string dtype;           // NumPy descr, one of the supported ones
  std::vector<size_t> shape;   // empty for a 0-d array
  std::vector<uint8_t> bytes;  // size() * itemsize() bytes
  std::string source;          // file (and member) it was read from, for messages

  // Number of elements: the product of the shape (1 for a 0-d array).
  size_t size() const;
  // Bytes per element of dtype; throws IoError for an unsupported dtype.
  size_t itemsize() const;

  template <class T>
  bool holds() const {
    return dtype == npy_dtype<T>();
  }

  // The elements as T; throws IoError (naming source, the dtype held and the one asked for)
  // when dtype is not exactly T's.
  template <class T>
  std::vector<T> as() const {
    check_dtype(npy_dtype<T>());
    std::vector<T> v(bytes.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(T));
    return v;
  }

  // An array holding data with the given shape; throws IoError when the shape's element count
  // differs from data.size().
  template <class T>
  static NpyArray from(const std::vector<T>& data, std::vector<size_t> shape) {
    NpyArray a;
    a.dtype = npy_dtype<T>();
    a.shape = std::move(shape);
    a.bytes.resize(data.size() * sizeof(T));
    if (!data.empty()) std::memcpy(a.bytes.data(), data.data(), a.bytes.size());
    a.check_consistent("NpyArray::from");
    return a;
  }

  // Throws IoError unless dtype is supported and bytes.size() == size() * itemsize().
  void check_consistent(const std::string& where) const;

 private:
  void check_dtype(const char* want) const;
};
using NpyBuffer = NpyArray;

// The complete .npy (version 1.0) file image of an array; the header is padded with spaces
// so that the data starts at a multiple of 64 bytes.
std::vector<uint8_t> npy_bytes(const NpyArray& a);
// Parses a .npy image (versions 1.0, 2.0 and 3.0); source names it in error messages.
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& source);

void write_npy(const std::string& path, const NpyArray& a);
void write_npy(const std::string& path, const std::vector<int8_t>& data,
               const std::vector<size_t>& shape);
void write_npy(const std::string& path, const std::vector<uint8_t>& data,
               const std::vector<size_t>& shape);
void write_npy(const std::string& path, const std::vector<int32_t>& data,
               const std::vector<size_t>& shape);
void write_npy(const std::string& path, const std::vector<int64_t>& data,
               const std::vector<size_t>& shape);
void write_npy(const std::string& path, const std::vector<float>& data,
               const std::vector<size_t>& shape);

// Throws IoError with the file name on a missing file, bad magic, bad header, unsupported
// dtype, Fortran order, or a data size that does not match the header.
NpyArray read_npy(const std::string& path);

// .npz: a zip archive of "<name>.npy" members, stored without compression (as np.savez
// writes), with fixed timestamps so the same arrays always give the same bytes. Names must be
// unique and non-empty; archives above 4 GiB (zip64) are not written.
void write_npz(const std::string& path,
               const std::vector<std::pair<std::string, NpyArray>>& arrays);
// Reads a stored (np.savez, not np.savez_compressed) .npz, zip64 size fields included; names
// have the ".npy" suffix removed, in archive order. Throws IoError on a compressed member, a
// CRC mismatch or a malformed archive.
std::vector<std::pair<std::string, NpyArray>> read_npz(const std::string& path);
// The same for an archive image in memory; source names it in error messages.
std::vector<std::pair<std::string, NpyArray>> parse_npz(const uint8_t* data, size_t size,
                                                        const std::string& source);

}  // namespace hdx
