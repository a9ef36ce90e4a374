// hdx regress: a list of sign-off runs in one process and sharded over MPI ranks (the merged
// report must equal the single-process one), failing entries named, bad lists refused. Every
// test that starts MPI ranks says Mpi or Rank in its name: scripts/check-sanitizers.sh runs
// those with the unwinder that its Open MPI leak suppressions need.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "golden.h"
#include "network.h"
#include "qnet.h"
#include "util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using hdx::read_file;
using hdx::run_command;
using hdx::write_file_atomic;

namespace {

const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";
const std::string kExamples = std::string(HDX_SOURCE_DIR) + "/examples";

std::string fresh_dir(const std::string& name) {
  const std::string d = std::string(HDX_BINARY_DIR) + "/test-tmp/" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A tiny network and two 2x2 accelerators whose models the sim tests build too (a shared
// HDX_CACHE_DIR has them), written into DIR.
void write_inputs(const std::string& dir) {
  write_file_atomic(dir + "/net.json", R"({"name": "reg_net", "input": {"channels": 2, "height": 6, "width": 6},
    "layers": [
      {"name": "c1", "op": "conv", "out_channels": 4, "kernel": 3, "padding": 1, "relu": true},
      {"name": "c2", "op": "conv", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
      {"name": "fc", "op": "fc", "out_features": 5}]})");
  // The ws and rs 2x2 arrays of SimWs.RandomLayersExact and SimRs.RandomLayersExact.
  write_file_atomic(dir + "/ws2.json", R"({"name": "t2x2b1i1w1o1", "dataflow": "ws", "pe_rows": 2, "pe_cols": 2,
    "buffers_kib": {"ifmap": 1, "weight": 1, "ofmap": 1}, "dram": {"bytes_per_cycle": 1, "latency_cycles": 0}})");
  write_file_atomic(dir + "/rs2.json", R"({"name": "rs2x2s7_7_1", "dataflow": "rs", "pe_rows": 2, "pe_cols": 2,
    "buffers_kib": {"ifmap": 1, "weight": 1, "ofmap": 1}, "spad": {"ifmap": 7, "filter": 7, "psum": 1},
    "dram": {"bytes_per_cycle": 1, "latency_cycles": 0}})");
}

// A small Fashion-MNIST network with random int8 weights: DIR/fm.json, DIR/fm_int8.npz.
void write_fm_qnet(const std::string& dir) {
  write_file_atomic(dir + "/fm.json", R"({"name": "reg_fm", "input": {"channels": 1, "height": 28, "width": 28},
    "layers": [
      {"name": "c1", "op": "conv", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "c2", "op": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "fc", "op": "fc", "out_features": 10}]})");
  const hdx::Network n = hdx::load_network(dir + "/fm.json");
  hdx::QuantNet q;
  for (size_t i = 0; i < n.layers.size(); ++i) {
    hdx::QuantLayer ql;
    ql.weight = hdx::random_int8(static_cast<size_t>(n.layers[i].weight_count()), 300 + i);
    ql.q = hdx::random_requant(n.layers[i], 400 + i);
    ql.scale = 0.05f;
    q.layers.push_back(ql);
  }
  hdx::write_qnet(dir + "/fm_int8.npz", n, q);
}

// Runs hdx, under `mpirun -n RANKS` when ranks > 0; returns the exit status, output in *out.
int run_hdx(std::vector<std::string> args, std::string* out, int ranks = 0) {
  std::vector<std::string> argv;
  if (ranks > 0)
    argv = {HDX_MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-n", std::to_string(ranks)};
  argv.push_back(kHdx);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, out);
}

// report.json without the timings and what names the run (command line, ranks).
json content(const std::string& path) {
  json j = json::parse(read_file(path));
  for (const char* k : {"seconds", "command", "ranks"}) j.erase(k);
  for (auto& e : j["entries"]) e.erase("seconds");
  return j;
}

// An entry's sim_report.json without its timings and command line.
json sim_content(const std::string& path) {
  json j = json::parse(read_file(path));
  for (const char* k : {"seconds", "seconds_per_image", "command", "throughput"}) j.erase(k);
  for (auto& l : j["layers"]) l.erase("seconds");
  return j;
}

}  // namespace

// Three entries of random data (ws 4x4, ws 2x2, rs 2x2) and one of real test images (ws 4x4):
// one process, 2 and 3 ranks give one report with the same content, and each entry's sim
// report is the same too.
TEST(Regress, RanksGiveTheSameReport) {
  const std::string dir = fresh_dir("RegressRanks");
  write_inputs(dir);
  write_fm_qnet(dir);
  write_file_atomic(dir + "/list.json", fmt::format(R"({{"entries": [
    {{"name": "ws4", "network": "net.json", "accelerator": "{0}/accel_ws_4x4.json", "seed": 3}},
    {{"network": "net.json", "accelerator": "ws2.json"}},
    {{"name": "rs2", "network": "net.json", "accelerator": "rs2.json", "seed": 5}},
    {{"name": "real", "network": "fm.json", "accelerator": "{0}/accel_ws_4x4.json",
      "weights": "fm_int8.npz", "images": 3, "first_image": 7}}]}})",
                                                    kExamples));
  std::string out;
  ASSERT_EQ(run_hdx({"regress", "--list", dir + "/list.json", "--out", dir + "/one", "--jobs", "1"},
                &out), 0) << out;
  EXPECT_NE(out.find("regression: all 4 entries pass"), std::string::npos) << out;
  EXPECT_NE(out.find("net-ws2 "), std::string::npos) << out;  // the name made of the files
  const json one = content(dir + "/one/report.json");
  ASSERT_EQ(one["entries"].size(), 4u);
  EXPECT_EQ(one["verdict"], "PASS");
  EXPECT_EQ(one["passed"], 4);
  EXPECT_EQ(one["entries"][1]["name"], "net-ws2");
  EXPECT_EQ(one["entries"][3]["rtl_agreement"], 1.0);
  EXPECT_EQ(one["entries"][3]["images"], 3);
  EXPECT_EQ(json::parse(read_file(dir + "/one/real/sim_report.json"))["images"][0]["index"], 7);
  for (const auto& e : one["entries"]) {
    EXPECT_TRUE(e["pass"].get<bool>()) << e;
    EXPECT_EQ(e["layers"], 3) << e;
    EXPECT_EQ(e["model_cycles"], e["rtl_cycles"]) << e;
    EXPECT_GT(e["rtl_cycles"].get<long long>(), 0) << e;
  }
  for (int ranks : {2, 3}) {
    const std::string o = fmt::format("{}/ranks{}", dir, ranks);
    ASSERT_EQ(run_hdx({"regress", "--list", dir + "/list.json", "--out", o, "--jobs", "1"}, &out,
                  ranks), 0) << out;
    EXPECT_NE(out.find(fmt::format("4 entries from {}/list.json over {} ranks; rank 0 takes "
                                   "entries 0-", dir, ranks)), std::string::npos) << out;
    // One table, from rank 0.
    EXPECT_EQ(out.find("regression: all 4 entries pass"), out.rfind("regression: all 4")) << out;
    EXPECT_EQ(out.find("\nentry "), out.rfind("\nentry ")) << out;
    EXPECT_EQ(content(o + "/report.json"), one) << ranks << " ranks";
    EXPECT_EQ(json::parse(read_file(o + "/report.json"))["ranks"], ranks);
    for (const char* e : {"ws4", "net-ws2", "rs2", "real"})
      EXPECT_EQ(sim_content(fmt::format("{}/{}/sim_report.json", o, e)),
                sim_content(fmt::format("{}/one/{}/sim_report.json", dir, e))) << e;
  }
  fs::remove_all(dir);
}

// Entries that fail (a network that does not map, a missing file) are rows with their names
// and errors; the others still run; the exit status is 1, on one process and on 2 ranks.
TEST(Regress, FailingEntriesAreNamedOnOneAndTwoRanks) {
  const std::string dir = fresh_dir("RegressFail");
  write_inputs(dir);
  // 2x2 ws with 1 KiB buffers: a 64-channel 3x3 layer over 16x16 needs more.
  write_file_atomic(dir + "/big.json", R"({"name": "big", "input": {"channels": 64, "height": 16, "width": 16},
    "layers": [{"name": "wide", "op": "conv", "out_channels": 64, "kernel": 3, "padding": 1}]})");
  write_file_atomic(dir + "/list.json", R"({"entries": [
    {"name": "good", "network": "net.json", "accelerator": "ws2.json"},
    {"name": "no_map", "network": "big.json", "accelerator": "ws2.json"},
    {"name": "no_file", "network": "missing.json", "accelerator": "ws2.json"}]})");
  for (int ranks : {0, 2}) {
    const std::string o = fmt::format("{}/out{}", dir, ranks);
    std::string out;
    EXPECT_EQ(run_hdx({"regress", "--list", dir + "/list.json", "--out", o, "--jobs", "1"}, &out,
                  ranks), 1) << out;
    EXPECT_NE(out.find("[sim E030] regression: 2 of 3 entries failed: no_map: [costmodel E01"),
              std::string::npos) << out;
    EXPECT_NE(out.find("; no_file: [config E001] cannot read " + dir + "/missing.json"),
              std::string::npos) << out;
    const json r = json::parse(read_file(o + "/report.json"));
    EXPECT_EQ(r["verdict"], "FAIL");
    EXPECT_EQ(r["passed"], 1);
    EXPECT_EQ(r["failed"], 2);
    EXPECT_TRUE(r["entries"][0]["pass"].get<bool>());
    EXPECT_FALSE(r["entries"][1]["pass"].get<bool>());
    EXPECT_EQ(r["entries"][1]["name"], "no_map");
    EXPECT_NE(r["entries"][1]["error"].get<std::string>().find("[costmodel E01"),
              std::string::npos);
    EXPECT_NE(read_file(o + "/no_map/sim.log").find("[costmodel E01"), std::string::npos);
    EXPECT_EQ(r["entries"][2]["name"], "no_file");
  }
  fs::remove_all(dir);
}

// A list that cannot be used is one line naming the file, the entry and the key, exit 2, on
// one process and (printed once, by rank 0) on 2 ranks; nothing is written.
TEST(Regress, BadListIsAConfigErrorOnOneAndTwoRanks) {
  const std::string dir = fresh_dir("RegressBad");
  const std::string list = dir + "/list.json";
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {R"({"entries": [{"network": "a.json", "accelerator": "b.json"}, {"network": "a.json"}]})",
       "[config E005] " + list + ": /entries/1/accelerator: missing required key"},
      {R"({"entries": [{"network": "a.json", "accelerator": "b.json", "imgs": 3}]})",
       "[config E004] " + list + ": /entries/0/imgs: unknown key (allowed: name, network, "
       "accelerator, weights, images, first_image, seed)"},
      {R"({"entries": [{"network": "a.json", "accelerator": "b.json", "images": 3}]})",
       "[config E004] " + list + ": /entries/0/images: only with \"weights\""},
      {R"({"entries": [{"network": "a.json", "accelerator": "b.json"},
                       {"network": "x/a.json", "accelerator": "y/b.json"}]})",
       "[config E012] " + list + ": /entries/1/name: entry names must be unique, and \"a-b\" "
       "is also the name of /entries/0"},
      {R"({"entries": [{"network": "a.json", "accelerator": "b.json", "seed": -1}]})",
       "[config E007] " + list + ": /entries/0/seed: must be an integer between 0 and"},
      {R"({"entries": []})", "[config E011] " + list + ": /entries: must be a non-empty array"},
      {R"({"entries": [)", "[config E002] " + list + ": invalid JSON"},
  };
  // Every case on one process; the first and the last on 2 ranks too (each mpirun start
  // costs about a second).
  for (int ranks : {0, 2})
    for (size_t k = 0; k < cases.size(); ++k) {
      const Case& c = cases[k];
      if (ranks && k != 0 && k + 1 != cases.size()) continue;
      write_file_atomic(list, c.text);
      std::string out;
      EXPECT_EQ(run_hdx({"regress", "--list", list, "--out", dir + "/out"}, &out, ranks), 2)
          << c.text << "\n" << out;
      EXPECT_EQ(out.find(c.message), 0u) << c.text << "\n" << out;
      EXPECT_EQ(out.find(c.message, 1), std::string::npos) << "printed twice: " << out;
      EXPECT_FALSE(fs::exists(dir + "/out")) << c.text;
    }
  std::string out;
  EXPECT_EQ(run_hdx({"regress", "--list", dir + "/none.json", "--out", dir + "/out"}, &out), 2);
  EXPECT_EQ(out.find("[config E001] cannot read " + dir + "/none.json"), 0u) << out;
  fs::remove_all(dir);
}

// A rank other than rank 0 that fails before the work is shared out (here: given another list,
// through mpirun's per-rank command lines) stops every rank; rank 0 names it.
TEST(Regress, OtherRankFailingIsNamed) {
  const std::string dir = fresh_dir("RegressOtherRank");
  write_inputs(dir);
  write_file_atomic(dir + "/list.json",
                    R"({"entries": [{"network": "net.json", "accelerator": "ws2.json"}]})");
  std::string out;
  const int rc = run_command({HDX_MPIEXEC, "--oversubscribe", "--allow-run-as-root",
                              "-n", "1", kHdx, "regress", "--list", dir + "/list.json", "--out",
                              dir + "/out", ":", "-n", "1", kHdx, "regress", "--list",
                              dir + "/none.json", "--out", dir + "/out"}, &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_EQ(out.find("[mpi E001] rank 1 of 2 failed: [config E001] cannot read " + dir +
                     "/none.json"), 0u) << out;
  EXPECT_FALSE(fs::exists(dir + "/out/report.json"));
  fs::remove_all(dir);
}
