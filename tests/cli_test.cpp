// The hdx command line: exit codes and one-line messages on bad input, and the files that
// `hdx sim` writes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "golden.h"
#include "network.h"
#include "npy.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace hdx;

namespace {

const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";
const std::string kEx = std::string(HDX_SOURCE_DIR) + "/examples/";

struct CliRun {
  int rc;
  std::string out;
};

CliRun run_hdx(std::vector<std::string> args) {
  args.insert(args.begin(), kHdx);
  CliRun r;
  r.rc = run_command(args, &r.out);
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(HDX_BINARY_DIR) / "test-tmp" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  fs::path dir_;
};

const char* kAccel = R"({"name": "a", "dataflow": "ws", "pe_rows": 4, "pe_cols": 4,
  "buffers_kib": {"ifmap": 8, "weight": 4, "ofmap": 4},
  "dram": {"bytes_per_cycle": 4, "latency_cycles": 10}})";

}  // namespace

TEST_F(Cli, HelpAndVersion) {
  CliRun r = run_hdx({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("hdx sim"), std::string::npos);
  r = run_hdx({"sim", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--dump-tensors"), std::string::npos);
  EXPECT_NE(r.out.find("examples:"), std::string::npos);
  r = run_hdx({"--version"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Verilator"), std::string::npos);
  EXPECT_NE(r.out.find("fmt"), std::string::npos);
  EXPECT_NE(r.out.find("Boost"), std::string::npos);
  EXPECT_NE(r.out.find("nlohmann_json"), std::string::npos);
  EXPECT_NE(r.out.find("LibTorch"), std::string::npos);
}

// hdx loads no LibTorch (it starts in milliseconds); search, quantize and flow run from
// hdx-train beside it, and without hdx-train they fail with one line that says what to do.
TEST_F(Cli, LibTorchOnlyInHdxTrain) {
  std::string libs;
  ASSERT_EQ(run_command({"ldd", kHdx}, &libs), 0) << libs;
  EXPECT_EQ(libs.find("libtorch"), std::string::npos) << libs;
  EXPECT_EQ(libs.find("libc10"), std::string::npos) << libs;
  ASSERT_EQ(run_command({"ldd", kHdx + "-train"}, &libs), 0) << libs;
  EXPECT_NE(libs.find("libtorch"), std::string::npos) << libs;

  CliRun r = run_hdx({"search", "--help"});
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("usage: hdx search --spec S --out DIR"), std::string::npos) << r.out;
  r = run_hdx({"quantize", "--bogus"});
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("[cli E002] unrecognised option '--bogus'; see hdx quantize --help"),
            std::string::npos) << r.out;
  r = run_hdx({"flow", "--help"});
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("--from"), std::string::npos) << r.out;

  const std::string alone = (dir_ / "hdx").string();
  fs::copy_file(kHdx, alone);
  fs::permissions(alone, fs::perms::owner_exec, fs::perm_options::add);
  r.rc = run_command({alone, "search", "--help"}, &r.out);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("[cli E003] cannot run " + (dir_ / "hdx-train").string() +
                       " for 'hdx search'"), std::string::npos) << r.out;
  r.rc = run_command({alone, "cost", "--network", kEx + "net_tiny.json", "--accel",
                      kEx + "accel_ws_4x4.json"}, &r.out);
  EXPECT_EQ(r.rc, 0) << r.out;
}

TEST_F(Cli, UsageErrors) {
  CliRun r = run_hdx({});
  EXPECT_EQ(r.rc, 2);
  r = run_hdx({"frobnicate"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("[cli E001] unknown command 'frobnicate'"), std::string::npos) << r.out;
  r = run_hdx({"cost", "--network", kEx + "net_tiny.json"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("'--accel' is required"), std::string::npos) << r.out;
  r = run_hdx({"cost", "--network", kEx + "net_tiny.json", "--accel", kEx + "accel_ws_4x4.json",
           "--bogus"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("see hdx cost --help"), std::string::npos) << r.out;
}

// Each kind of malformed file: one line naming the file, the JSON path and the legal range.
TEST_F(Cli, MalformedFiles) {
  struct Case {
    std::string accel, expect;
  };
  const Case cases[] = {
      {"{", "[config E002]"},
      {R"({"name": "a", "dataflow": "ws", "pe_rows": 4})", "/pe_cols: missing required key"},
      {std::string(kAccel).replace(1, 0, R"("color": 1, )"), "/color: unknown key"},
      {std::string(kAccel).replace(std::string(kAccel).find("\"pe_rows\": 4"), 12,
                                   "\"pe_rows\": 65"),
       "/pe_rows: must be an integer between 2 and 64, got 65"},
      {std::string(kAccel).replace(std::string(kAccel).find("\"pe_rows\": 4"), 12,
                                   "\"pe_rows\": \"4\""),
       "/pe_rows"},
      {std::string(kAccel).replace(std::string(kAccel).find("\"ws\""), 4, "\"xx\""),
       "/dataflow: must be one of"},
      {std::string(kAccel).replace(std::string(kAccel).find("\"bytes_per_cycle\": 4"), 20,
                                   "\"bytes_per_cycle\": 3"),
       "/dram/bytes_per_cycle"},
  };
  for (const Case& c : cases) {
    const std::string a = write("a.json", c.accel);
    const CliRun r = run_hdx({"cost", "--network", kEx + "net_tiny.json", "--accel", a});
    EXPECT_EQ(r.rc, 2) << c.accel;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << c.accel << "\n" << r.out;
    EXPECT_NE(r.out.find("a.json"), std::string::npos) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  }
  const std::string n = write("n.json", R"({"name": "n", "input": {"channels": 3,
    "height": 8, "width": 8}, "layers": [{"name": "c", "op": "conv", "out_channels": 4,
    "kernel": 12}]})");
  const CliRun r = run_hdx({"cost", "--network", n, "--accel", kEx + "accel_ws_4x4.json"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("/layers/0/kernel: must be an integer between 1 and 11, got 12"),
            std::string::npos) << r.out;
  const CliRun m = run_hdx({"cost", "--network", (dir_ / "missing.json").string(), "--accel",
                     kEx + "accel_ws_4x4.json"});
  EXPECT_EQ(m.rc, 2);
  EXPECT_NE(m.out.find("cannot read"), std::string::npos) << m.out;
}

// Input that once crashed or gave an internal error: a 100,000-deep pe_rows (a segmentation
// fault) and a clock beyond a double (E999). Both are config errors now, exit 2, one line.
TEST_F(Cli, DeepNestingAndHugeNumbersAreConfigErrors) {
  std::string acc = kAccel;
  acc.replace(acc.find("\"pe_rows\": 4"), 12,
              "\"pe_rows\": " + std::string(100000, '[') + "4" + std::string(100000, ']'));
  CliRun r = run_hdx({"cost", "--network", kEx + "net_tiny.json", "--accel", write("deep.json", acc)});
  EXPECT_EQ(r.rc, 2) << r.out.substr(0, 400);
  EXPECT_NE(r.out.find("[config E017] " + (dir_ / "deep.json").string() +
                       ": arrays and objects nested more than 64 deep (at /pe_rows/0/0/"),
            std::string::npos) << r.out.substr(0, 400);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  acc = kAccel;
  acc.replace(acc.find("\"pe_cols\": 4"), 12, "\"pe_cols\": 4, \"clock_mhz\": 1e400");
  r = run_hdx({"cost", "--network", kEx + "net_tiny.json", "--accel", write("clock.json", acc)});
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("[config E018] " + (dir_ / "clock.json").string() +
                       ": /clock_mhz: number 1e400 is too large"),
            std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

// A layer that does not fit the buffers names the buffer and the KiB it needs.
TEST_F(Cli, ImpossibleConfigurations) {
  const std::string net = write("n.json", R"({"name": "n", "input": {"channels": 64,
    "height": 64, "width": 64}, "layers": [{"name": "big", "op": "conv", "out_channels": 8,
    "kernel": 3, "padding": 1}]})");
  std::string acc = kAccel;
  acc.replace(acc.find("\"ifmap\": 8"), 10, "\"ifmap\": 1");
  CliRun r = run_hdx({"cost", "--network", net, "--accel", write("a.json", acc)});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("[costmodel E012] layer 'big': ifmap buffer of 1 KiB"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("set buffers_kib.ifmap to at least 24"), std::string::npos) << r.out;

  acc = kAccel;
  acc.replace(acc.find("\"pe_rows\": 4, \"pe_cols\": 4"), 26, "\"pe_rows\": 32, \"pe_cols\": 32");
  acc.replace(acc.find("\"weight\": 4"), 11, "\"weight\": 1");
  r = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel", write("b.json", acc), "--out",
           (dir_ / "o").string()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("weight buffer of 1 KiB holds 1 weight fold(s) of 32x32 bytes"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("set buffers_kib.weight to at least 2)"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "o")) << "nothing is written for an impossible configuration";

  r = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel", kEx + "accel_ws_4x4.json",
           "--out", (dir_ / "o").string(), "--waves", "nosuchlayer"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("--waves nosuchlayer: no layer of that name"), std::string::npos) << r.out;
}

TEST_F(Cli, RefusesNonEmptyOutput) {
  fs::create_directories(dir_ / "o");
  write("o/keep.txt", "x");
  CliRun r = run_hdx({"rtl", "--accel", kEx + "accel_ws_4x4.json", "--out", (dir_ / "o").string()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("is not empty; pass --force"), std::string::npos) << r.out;
  r = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel", kEx + "accel_ws_4x4.json",
           "--out", (dir_ / "o").string()});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("is not empty; pass --force"), std::string::npos) << r.out;
}

// hdx sim end to end on the tiny example: report keys, tensors that recompute the output.
TEST_F(Cli, SimReportAndTensors) {
  const std::string out = (dir_ / "sim").string();
  const std::string layer = load_network(kEx + "net_tiny.json").layers.front().name;
  const CliRun r = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel",
                     kEx + "accel_ws_4x4.json", "--out", out, "--seed", "7", "--dump-tensors"});
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("model cyc"), std::string::npos);
  const auto rep = nlohmann::json::parse(read_file(out + "/sim_report.json"));
  EXPECT_TRUE(rep["all_match"].get<bool>());
  EXPECT_EQ(rep["seed"], 7);
  for (const auto& l : rep["layers"]) {
    for (const char* k : {"name", "model_cycles", "rtl_cycles", "outputs_match", "model_events",
                          "rtl_events"})
      EXPECT_TRUE(l.contains(k)) << k;
    EXPECT_EQ(l["model_cycles"], l["rtl_cycles"]);
    EXPECT_EQ(l["model_events"], l["rtl_events"]);
  }
  const auto man = nlohmann::json::parse(read_file(out + "/manifest.json"));
  EXPECT_EQ(man["files"]["sim_report.json"], sha256_file(out + "/sim_report.json"));

  // The same configuration again: the Verilator model comes from the cache.
  const CliRun again = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel",
                                kEx + "accel_ws_4x4.json", "--out", out, "--force"});
  EXPECT_EQ(again.rc, 0) << again.out;
  EXPECT_NE(again.out.find("model found in cache"), std::string::npos) << again.out;

  // Everything needed to recompute the first layer's output from docs/arithmetic.md.
  const std::string td = out + "/tensors/" + layer + "/";
  const Layer l = load_network(td + "layer.json").layers.front();
  Requant q;
  q.bias = read_npy(td + "bias.npy").as<int32_t>();
  q.mult = read_npy(td + "mult.npy").as<int32_t>();
  q.shift = read_npy(td + "shift.npy").as<uint8_t>();
  const auto y = conv_golden(l, read_npy(td + "input.npy").as<int8_t>(),
                             read_npy(td + "weight.npy").as<int8_t>(), q);
  EXPECT_EQ(y, read_npy(td + "output.npy").as<int8_t>());

  // Given tensors instead of random ones: the dumped set runs again to the same outputs.
  const std::string out2 = (dir_ / "sim2").string();
  const CliRun given = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel",
                               kEx + "accel_ws_4x4.json", "--out", out2, "--tensors",
                               out + "/tensors", "--dump-tensors"});
  ASSERT_EQ(given.rc, 0) << given.out;
  EXPECT_EQ(read_file(out2 + "/tensors/" + layer + "/output.npy"), read_file(td + "output.npy"));

  // A tensor of the wrong shape names the file and both shapes.
  write_npy(td + "bias.npy", std::vector<int32_t>{1, 2, 3}, {3});
  const CliRun bad = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel",
                              kEx + "accel_ws_4x4.json", "--out", (dir_ / "sim3").string(),
                              "--tensors", out + "/tensors"});
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("bias.npy: shape (3) does not fit the layer, which needs (8)"),
            std::string::npos) << bad.out;
}

// A network with host operations: hdx cost lists them at zero cycles; hdx sim runs every
// accelerator layer and skips the host operations.
TEST_F(Cli, HostOperations) {
  const std::string net = kEx + "net_residual.json";
  const std::string cj = (dir_ / "cost.json").string();
  CliRun r = run_hdx({"cost", "--network", net, "--accel", kEx + "accel_ws_4x4.json", "--json", cj});
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("b0.add           add (host)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pool             avgpool (host)"), std::string::npos) << r.out;
  const auto cost = nlohmann::json::parse(read_file(cj));
  EXPECT_TRUE(cost["layers"][4]["host"].get<bool>());
  EXPECT_EQ(cost["layers"][4]["cycles"], 0);
  EXPECT_FALSE(cost["layers"][3]["host"].get<bool>());

  const std::string out = (dir_ / "sim").string();
  r = run_hdx({"sim", "--network", net, "--accel", kEx + "accel_ws_4x4.json", "--out", out});
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("all 5 accelerator layers: outputs bit-exact"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 host operations not simulated"), std::string::npos) << r.out;
  const auto rep = nlohmann::json::parse(read_file(out + "/sim_report.json"));
  EXPECT_TRUE(rep["all_match"].get<bool>());
  EXPECT_TRUE(rep["layers"][5]["host"].get<bool>());
  EXPECT_EQ(rep["layers"][6]["model_cycles"], rep["layers"][6]["rtl_cycles"]);
  EXPECT_EQ(rep["total"]["model_cycles"], cost["total"]["cycles"]);

  r = run_hdx({"sim", "--network", net, "--accel", kEx + "accel_ws_4x4.json", "--out", out,
               "--force", "--waves", "pool"});
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("is a host operation (avgpool)"), std::string::npos) << r.out;
}

// srun without an MPI plugin starts each task alone: hdx sim and regress refuse to run the
// whole job in every task (task 0 says why, the others exit quietly). An sbatch script's own
// process (SLURM_NTASKS but no SLURM_STEP_NUM_TASKS) is one process and runs.
TEST_F(Cli, SrunWithoutMpiPluginIsRefused) {
  const std::string out = (dir_ / "sim").string();
  const std::vector<std::string> sim = {kHdx, "sim", "--network", kEx + "net_tiny.json",
                                        "--accel", kEx + "accel_ws_4x4.json", "--out", out};
  auto run_with = [&](std::vector<std::string> env, const std::vector<std::string>& cmd) {
    env.insert(env.begin(), "env");
    env.insert(env.end(), cmd.begin(), cmd.end());
    CliRun r;
    r.rc = run_command(env, &r.out);
    return r;
  };
  CliRun r = run_with({"SLURM_STEP_NUM_TASKS=2", "SLURM_PROCID=0", "SLURM_NTASKS=2"}, sim);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("[mpi E003] srun started 2 tasks without an MPI plugin"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("srun --mpi=pmix"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  r = run_with({"SLURM_STEP_NUM_TASKS=2", "SLURM_PROCID=1", "SLURM_NTASKS=2"},
               {kHdx, "regress", "--list", kEx + "missing.json", "--out", out});
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_EQ(r.out, "");
  r = run_with({"SLURM_PROCID=0", "SLURM_NTASKS=2"}, sim);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "sim_report.json"));
}

// --waves builds the traced model and writes one layer's FST waveform.
TEST_F(Cli, WavesOfOneLayer) {
  const std::string out = (dir_ / "sim").string();
  const CliRun r = run_hdx({"sim", "--network", kEx + "net_tiny.json", "--accel",
                            kEx + "accel_ws_4x4.json", "--out", out, "--waves", "dw2"});
  ASSERT_EQ(r.rc, 0) << r.out;
  const fs::path fst = fs::path(out) / "waves" / "dw2.fst";
  ASSERT_TRUE(fs::exists(fst));
  EXPECT_GT(fs::file_size(fst), 1000u);
  EXPECT_FALSE(fs::exists(fs::path(out) / "waves" / "conv1.fst"));
  const auto man = nlohmann::json::parse(read_file(out + "/manifest.json"));
  EXPECT_TRUE(man["files"].contains("waves/dw2.fst"));
}
