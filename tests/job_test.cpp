// Tests of the job and result files exchanged with the Verilated model (sim/job.h): they
// round-trip, and a short, long or corrupt file is an error naming the file, never a crash
// or a huge allocation.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "errors.h"
#include "icarus.h"
#include "job.h"
#include "util.h"

namespace hdx {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("hdx_job_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

SimJob sample_job() {
  SimJob j;
  j.latency = 7;
  j.backpressure = 12345;
  j.seed = 99;
  j.max_cycles = 100000;
  j.ld_words = 3;
  j.cmp_words = 2;
  j.st_words = 4;
  j.ld = {1, 2, 3, 4, 5, 6};
  j.cmp = {7, 8};
  j.st = {9, 10, 11, 12};
  j.dram = {1, 2, 3, 4, 5};
  j.fst_path = "w.fst";
  return j;
}

// The file image of a job or a result.
template <class Write, class T>
std::vector<uint8_t> image(Write write, const T& x, const std::string& name) {
  const std::string p = temp(name);
  write(p, x);
  const std::string text = read_file(p);
  std::remove(p.c_str());
  return std::vector<uint8_t>(text.begin(), text.end());
}

// Expects parse to throw std::runtime_error whose message contains `part`.
template <class Parse>
void expect_bad(Parse parse, const std::vector<uint8_t>& d, const std::string& part) {
  try {
    parse(d.data(), d.size(), "f.job");
    ADD_FAILURE() << "no error; expected '" << part << "'";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("f.job: ", 0), 0u) << e.what();
  }
}

void put_u64(std::vector<uint8_t>& d, size_t at, uint64_t v) { std::memcpy(&d[at], &v, 8); }
void put_u32(std::vector<uint8_t>& d, size_t at, uint32_t v) { std::memcpy(&d[at], &v, 4); }

// Offsets in the job image: magic 8, latency 4, backpressure 8, seed 8, max_cycles 8, then the
// three words-per-command fields, then the length of the ld stream.
constexpr size_t kLdWordsAt = 36, kLdLenAt = 48;

TEST(JobFile, RoundTrips) {
  const SimJob j = sample_job();
  const std::string p = temp("rt.job");
  write_job(p, j);
  const SimJob k = read_job(p);
  std::remove(p.c_str());
  EXPECT_EQ(k.latency, 7u);
  EXPECT_EQ(k.backpressure, 12345u);
  EXPECT_EQ(k.seed, 99u);
  EXPECT_EQ(k.max_cycles, 100000u);
  EXPECT_EQ(k.ld, j.ld);
  EXPECT_EQ(k.cmp, j.cmp);
  EXPECT_EQ(k.st, j.st);
  EXPECT_EQ(k.dram, j.dram);
  EXPECT_EQ(k.fst_path, "w.fst");

  SimResult r;
  r.status = 4;
  r.cycles_run = 77;
  r.loop_ns = 123456789;
  r.loop_cpu_ns = 12345678;
  for (int c = 0; c < kNumCounters; ++c) r.counters[c] = 1000 + c;
  r.dram = {9, 8, 7};
  r.message = "assertion failed";
  const std::vector<uint8_t> d = image(write_result, r, "rt.res");
  const SimResult s = parse_result(d.data(), d.size(), "rt.res");
  EXPECT_EQ(s.status, 4u);
  EXPECT_EQ(s.cycles_run, 77u);
  EXPECT_EQ(s.loop_ns, 123456789u);
  EXPECT_EQ(s.loop_cpu_ns, 12345678u);
  EXPECT_EQ(s.counters[kNumCounters - 1], 1000u + kNumCounters - 1);
  EXPECT_EQ(s.dram, r.dram);
  EXPECT_EQ(s.message, r.message);
}

TEST(JobFile, EveryTruncationIsAnError) {
  const std::vector<uint8_t> d = image(write_job, sample_job(), "trunc.job");
  for (size_t n = 0; n < d.size(); ++n) {
    const std::vector<uint8_t> cut(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse_job(cut.data(), cut.size(), "f.job"), std::runtime_error) << n;
  }
  std::vector<uint8_t> longer = d;
  longer.push_back(0);
  expect_bad(parse_job, longer, "1 bytes after the end");
  EXPECT_THROW(read_job(temp("missing.job")), std::runtime_error);
}

TEST(JobFile, LengthsBeyondTheFileAreErrorsNotAllocations) {
  std::vector<uint8_t> d = image(write_job, sample_job(), "len.job");
  put_u64(d, kLdLenAt, uint64_t(1) << 61);  // 8 EiB of ld words
  expect_bad(parse_job, d, "an array of 2305843009213693952 elements is longer than the file");
  d = image(write_job, sample_job(), "len.job");
  put_u64(d, d.size() - 8 - 5, ~uint64_t(0));  // the fst path's length
  expect_bad(parse_job, d, "a string of 18446744073709551615 bytes is longer than the file");
}

TEST(JobFile, CommandStreamsMustBeWholeCommands) {
  std::vector<uint8_t> d = image(write_job, sample_job(), "words.job");
  put_u32(d, kLdWordsAt, 0);  // the harness divides by it
  expect_bad(parse_job, d, "load commands of 0 words");
  put_u32(d, kLdWordsAt, 4);  // 6 words are not whole commands of 4
  expect_bad(parse_job, d, "load stream not a whole number of commands");
  d[0] = 'X';
  expect_bad(parse_job, d, "bad magic");
}

TEST(ResultFile, CorruptResultsAreErrors) {
  SimResult r;
  r.dram = {1, 2};
  const std::vector<uint8_t> d = image(write_result, r, "c.res");
  for (size_t n = 0; n < d.size(); ++n)
    EXPECT_THROW(parse_result(d.data(), n, "f.job"), std::runtime_error) << n;
  std::vector<uint8_t> bad = d;
  put_u32(bad, 8, 6);
  expect_bad(parse_result, bad, "status 6 (0 to 5)");
  bad = d;
  put_u64(bad, 8 + 4 + 8 + 8 + 8 + 8 * kNumCounters, uint64_t(1) << 40);  // the DRAM length
  expect_bad(parse_result, bad, "longer than the file");
  expect_bad(parse_result, image(write_job, sample_job(), "j.job"), "bad magic");
}

// The job stream: frames round-trip over a socket; a clean end before a frame is the end of
// the stream, an end inside one is an error naming the stream.
TEST(JobStream, FramesRoundTripAndATruncatedFrameIsAnError) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::vector<uint8_t> job = job_image(sample_job());
  ASSERT_TRUE(write_frame(sv[0], job));
  ASSERT_TRUE(write_frame(sv[0], {}));
  std::vector<uint8_t> got;
  ASSERT_TRUE(read_frame(sv[1], got, "s"));
  EXPECT_EQ(got, job);
  EXPECT_EQ(parse_job(got.data(), got.size(), "s").fst_path, "w.fst");
  ASSERT_TRUE(read_frame(sv[1], got, "s"));
  EXPECT_TRUE(got.empty());
  const uint64_t n = 100;  // a frame that promises 100 bytes and brings 3
  ASSERT_EQ(write(sv[0], &n, 8), 8);
  ASSERT_EQ(write(sv[0], "abc", 3), 3);
  close(sv[0]);
  try {
    read_frame(sv[1], got, "worker 1 result stream");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("worker 1 result stream: the stream ended inside a frame of 100 bytes"),
              std::string::npos) << e.what();
  }
  EXPECT_FALSE(read_frame(sv[1], got, "s"));  // and then the clean end
  close(sv[1]);
  // Writing to a closed peer fails instead of raising SIGPIPE.
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  close(sv[1]);
  EXPECT_FALSE(write_frame(sv[0], job));
  close(sv[0]);
}

// The Icarus testbench's result.txt: "status cycles", 17 counters, the output bytes in hex,
// the message.
std::string icarus_text(const std::string& bytes, const std::string& status = "0") {
  std::string t = status + " 12\n";
  for (int c = 0; c < kNumCounters; ++c) t += std::to_string(c) + "\n";
  return t + bytes + "message here\n";
}

SimResult icarus(const std::string& text) {
  SimJob job;
  job.dram.assign(8, 0);
  job.out_addr = 4;
  job.out_bytes = 2;
  std::istringstream in(text);
  return parse_icarus_result(in, job, "result.txt");
}

TEST(IcarusResult, ReadsBytesAndUnknownValues) {
  const SimResult r = icarus(icarus_text("7f\n0a\n"));
  EXPECT_EQ(r.status, 0u);
  EXPECT_EQ(r.cycles_run, 12u);
  EXPECT_EQ(r.counters[16], 16u);
  EXPECT_EQ(r.dram, (std::vector<uint8_t>{0, 0, 0, 0, 0x7f, 0x0a, 0, 0}));
  EXPECT_EQ(r.message, "message here");
  const SimResult x = icarus(icarus_text("7f\nfx\n"));
  EXPECT_EQ(x.status, 3u);
  EXPECT_EQ(x.message, "X or Z in output byte 1 (DRAM address 5)");
}

TEST(IcarusResult, MalformedFilesAreSimErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "ends before the status"},
      {icarus_text("7f\n"), "bad output byte 'message'"},
      {icarus_text("7f\n100\n"), "bad output byte '100'"},
      {icarus_text("7f\n-1\n"), "bad output byte '-1'"},
      {icarus_text("7f\n0a\n", "9"), "bad status '9'"},
      {icarus_text("7f\n0a\n", "0 99999999999999999999999 #"), "bad cycle count"},
      {"0 1 2 3", "ends before the counter"},
  };
  for (const auto& [text, part] : cases) {
    try {
      icarus(text);
      ADD_FAILURE() << "no error for: " << text;
    } catch (const SimError& e) {
      EXPECT_NE(std::string(e.what()).find("Icarus result result.txt: " + part), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace hdx
