// rtlgen: the output tree users rely on. Generation lints clean on several array shapes, the
// manifest covers every file with its SHA-256, generated files carry the banner, the filelist
// works with Verilator and Icarus from the documented places, Yosys synthesizes a small
// configuration, the signature matches the generated top, DIR is protected unless --force,
// and the config hash keys only on what changes the Verilog.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "accel.h"
#include "errors.h"
#include "rtlgen.h"
#include "sram.h"
#include "synth.h"
#include "util.h"

using namespace hdx;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A fresh directory per test under HDX_BINARY_DIR/test-tmp, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? fmt::format("{}.{}", info->test_suite_name(), info->name())
                            : std::string("rtlgen");
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
    path_ = fs::path(HDX_BINARY_DIR) / "test-tmp" / fmt::format("{}-{}", name, ::getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Accelerator accel(const std::string& name, int rows, int cols, int bpc, int ifmap_kib,
                  int weight_kib, int ofmap_kib) {
  Accelerator a;
  a.name = name;
  a.pe_rows = rows;
  a.pe_cols = cols;
  a.dram_bytes_per_cycle = bpc;
  a.ifmap_kib = ifmap_kib;
  a.weight_kib = weight_kib;
  a.ofmap_kib = ofmap_kib;
  return a;
}

Accelerator example(const std::string& file) {
  return load_accelerator(std::string(HDX_SOURCE_DIR) + "/examples/" + file);
}

struct Config {
  std::string label;  // test name suffix
  Accelerator (*make)();
};

// Parameter names in test listings.
void PrintTo(const Config& c, std::ostream* os) { *os << c.label; }

const std::vector<Config>& configs() {
  static const std::vector<Config> c = {
      {"ws2x2_bpc1", [] { return accel("ws_2x2", 2, 2, 1, 1, 1, 1); }},
      {"ws4x4_bpc4_example", [] { return example("accel_ws_4x4.json"); }},
      {"ws3x5_bpc2", [] { return accel("ws 3x5 odd", 3, 5, 2, 2, 1, 2); }},
      {"ws8x32_bpc8", [] { return accel("ws_8x32", 8, 32, 8, 32, 32, 32); }},
      {"ws32x32_bpc32_small", [] { return accel("ws_32x32", 32, 32, 32, 4, 4, 4); }},
      {"rs4x4_bpc4_example", [] { return example("accel_rs_4x4.json"); }},
      {"rs12x14_bpc16_example", [] { return example("accel_rs_12x14.json"); }},
      {"rs3x5_bpc2_small_spads", [] {
         Accelerator a = accel("rs 3x5", 3, 5, 2, 2, 1, 2);
         a.dataflow = Dataflow::RS;
         a.spad_ifmap = 1;
         a.spad_filter = 1;
         a.spad_psum = 1;
         return a;
       }},
  };
  return c;
}

const char* kCommand = "hdx rtlgen --accel accelerator.json --out out";

// The include with the compute engine's command words: CMP (ws) or PASS (rs).
std::string compute_include(const Accelerator& a) {
  return a.dataflow == Dataflow::RS ? "rtl/hdx_rs_cmd.vh" : "rtl/hdx_cmp_cmd.vh";
}

RtlOptions options(const fs::path& dir, bool lint) {
  RtlOptions o;
  o.out_dir = dir.string();
  o.lint = lint;
  o.command_line = kCommand;
  return o;
}

std::string trim_output(const std::string& s) { return s.size() > 4000 ? s.substr(0, 4000) : s; }

// Relative paths of all regular files under dir.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).generic_string());
  return out;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Port declarations of the generated top, in order: "  input  logic [W-1:0] name," lines.
std::vector<Port> parse_top_ports(const std::string& sv) {
  std::vector<Port> ports;
  static const std::regex re(R"(^\s*(input|output)\s+logic\s+(?:\[(\d+):0\]\s*)?(\w+)\s*,?\s*$)");
  std::istringstream in(sv);
  std::string line;
  bool in_header = false;
  while (std::getline(in, line)) {
    if (line.rfind("module ", 0) == 0) {
      in_header = true;
      continue;
    }
    if (!in_header) continue;
    if (line.rfind(");", 0) == 0) break;
    std::smatch m;
    if (std::regex_match(line, m, re))
      ports.push_back({m[3].str(), m[1].str() == "input", m[2].matched ? std::stoi(m[2].str()) + 1 : 1});
    else
      ADD_FAILURE() << "unexpected line in the port list of the top: " << line;
  }
  return ports;
}

// Test names start with "rtlgen" so that `ctest -R rtlgen` selects them (the label is rtl).
class RtlgenTree : public ::testing::TestWithParam<Config> {};

// 1. Generation (with Verilator -Wall lint) succeeds; every listed file exists; the manifest
// holds the SHA-256 of each; the generated top and includes carry the banner and hash.
TEST_P(RtlgenTree, GeneratesLintCleanTreeWithManifest) {
  const Accelerator a = GetParam().make();
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  RtlResult r;
  try {
    r = generate_rtl(a, options(dir, /*lint=*/true));
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  EXPECT_EQ(r.top, top_name(a));
  EXPECT_EQ(r.config_hash, config_hash(a));
  EXPECT_TRUE(std::regex_match(r.config_hash, std::regex("[0-9a-f]{16}"))) << r.config_hash;
  EXPECT_EQ(fs::path(r.rtl_dir), dir / "rtl");
  EXPECT_EQ(fs::path(r.filelist), dir / "rtl" / "filelist.f");

  // Every listed file exists, and nothing else was written.
  const std::set<std::string> listed(r.files.begin(), r.files.end());
  EXPECT_EQ(listed.size(), r.files.size()) << "duplicate entries in RtlResult::files";
  for (const auto& f : r.files) EXPECT_TRUE(fs::is_regular_file(dir / f)) << f;
  EXPECT_EQ(files_under(dir), listed);
  const std::string top_file = "rtl/" + r.top + ".sv";
  for (const std::string& f :
       {top_file, std::string("rtl/hdx_ld_cmd.vh"), compute_include(a),
        std::string("rtl/hdx_st_cmd.vh"), std::string("rtl/filelist.f"),
        "rtl/" + r.top + ".signature.json", std::string("manifest.json")})
    EXPECT_TRUE(listed.count(f)) << f << " not in RtlResult::files";

  // Manifest: every file but itself, with its SHA-256.
  const json m = json::parse(read_file((dir / "manifest.json").string()));
  EXPECT_EQ(m.at("tool"), "hdx");
  EXPECT_EQ(m.at("command"), kCommand);
  EXPECT_EQ(m.at("config").at("config_hash"), r.config_hash);
  EXPECT_EQ(m.at("config").at("accelerator"), accelerator_to_json(a));
  EXPECT_TRUE(m.at("dependencies").contains("verilator"));
  const json& sums = m.at("files");
  ASSERT_TRUE(sums.is_object());
  EXPECT_EQ(sums.size() + 1, r.files.size());
  EXPECT_FALSE(sums.contains("manifest.json"));
  for (const auto& f : r.files) {
    if (f == "manifest.json") continue;
    ASSERT_TRUE(sums.contains(f)) << f << " missing from manifest.json";
    EXPECT_EQ(sums.at(f).get<std::string>(), sha256_file((dir / f).string())) << f;
  }
  // The hashes are real SHA-256 digests (cross-check one file with sha256sum).
  {
    std::string out;
    const int rc = run_command({"sha256sum", (dir / top_file).string()}, &out);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_EQ(out.substr(0, 64), sums.at(top_file).get<std::string>());
  }

  // Banners: generated top and command-field includes.
  const std::regex banner_re(R"(// generated by hdx \S+ -- do not edit\n)");
  for (const std::string& f : {top_file, std::string("rtl/hdx_ld_cmd.vh"),
                              compute_include(a), std::string("rtl/hdx_st_cmd.vh")}) {
    const std::string text = read_file((dir / f).string());
    EXPECT_TRUE(std::regex_search(text, banner_re)) << f << " lacks the banner:\n"
                                                    << text.substr(0, 400);
    EXPECT_NE(text.find("// config hash: " + r.config_hash + "\n"), std::string::npos) << f;
    EXPECT_NE(text.find(std::string("// command: ") + kCommand + "\n"), std::string::npos) << f;
  }
  // Copied templates say so on their first line.
  for (const auto& f : r.files) {
    if (f.size() < 3 || f.compare(f.size() - 3, 3, ".sv") != 0 || f == top_file) continue;
    EXPECT_NE(first_line(read_file((dir / f).string())).find("do not edit"), std::string::npos)
        << f;
  }
}

// 2. The filelist works from the documented places, read the ordinary way (no -defer, no
// defines): Verilator -F from another directory (paths relative to the filelist), Icarus -f
// from inside DIR/rtl, and Yosys reading its entries in order and elaborating the top.
TEST_P(RtlgenTree, FilelistWorksWithVerilatorAndIcarus) {
  const Accelerator a = GetParam().make();
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  RtlResult r;
  try {
    r = generate_rtl(a, options(dir, /*lint=*/false));
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  const fs::path elsewhere = tmp.path() / "elsewhere";
  fs::create_directories(elsewhere);
  {
    // Relative to the caller's directory, so the filelist's own entries must resolve
    // against the filelist's directory.
    const std::string fl = fs::relative(r.filelist, elsewhere).string();
    std::string out;
    const int rc = run_command(
        {"verilator", "--lint-only", "-Wall", "-F", fl, "--top-module", r.top}, &out,
        elsewhere.string());
    EXPECT_EQ(rc, 0) << trim_output(out);
    EXPECT_EQ(out, "") << "verilator -F " << fl << " from another directory printed:\n"
                       << trim_output(out);
  }
  {
    std::string out;
    const int rc = run_command({"iverilog", "-g2012", "-f", "filelist.f", "-s", r.top, "-o",
                                "x.vvp"},
                               &out, r.rtl_dir);
    EXPECT_EQ(rc, 0) << trim_output(out);
    EXPECT_EQ(out, "") << "iverilog -g2012 -f filelist.f in DIR/rtl printed:\n"
                       << trim_output(out);
    EXPECT_TRUE(fs::is_regular_file(fs::path(r.rtl_dir) / "x.vvp"));
  }
  {
    std::string script = "read_verilog -sv";
    std::istringstream lines(read_file(r.filelist));
    for (std::string line; std::getline(lines, line);)
      script += line.rfind("+incdir+", 0) == 0 ? " -I" + line.substr(8) : " " + line;
    script += "; hierarchy -check -top " + r.top + "; proc";
    std::string out;
    const int rc = run_command({"yosys", "-q", "-p", script}, &out, r.rtl_dir);
    EXPECT_EQ(rc, 0) << "yosys -p '" << script << "' in DIR/rtl:\n" << trim_output(out);
  }
}

// 4. The signature publishes the configuration and exactly the ports of the generated top.
TEST_P(RtlgenTree, SignatureMatchesConfigAndTop) {
  const Accelerator a = GetParam().make();
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  RtlResult r;
  try {
    r = generate_rtl(a, options(dir, /*lint=*/false));
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  const fs::path sig_path = dir / "rtl" / (r.top + ".signature.json");
  ASSERT_TRUE(fs::is_regular_file(sig_path));
  const json sig = json::parse(read_file(sig_path.string()));
  EXPECT_EQ(sig.at("top"), r.top);
  EXPECT_EQ(sig.at("top"), top_name(a));
  EXPECT_EQ(sig.at("dataflow"), dataflow_name(a.dataflow));
  const json& p = sig.at("parameters");
  EXPECT_EQ(p.at("PE_ROWS").get<long long>(), a.pe_rows);
  EXPECT_EQ(p.at("PE_COLS").get<long long>(), a.pe_cols);
  EXPECT_EQ(p.at("BPC").get<long long>(), a.dram_bytes_per_cycle);
  EXPECT_EQ(p.at("IFMAP_BYTES").get<long long>(), a.ifmap_bytes());
  EXPECT_EQ(p.at("WEIGHT_BYTES").get<long long>(), a.weight_bytes());
  EXPECT_EQ(p.at("ACC_ENTRIES").get<long long>(), a.acc_entries());
  if (a.dataflow == Dataflow::RS) {
    EXPECT_EQ(p.at("SPAD_IFMAP").get<int>(), a.spad_ifmap);
    EXPECT_EQ(p.at("SPAD_FILTER").get<int>(), a.spad_filter);
    EXPECT_EQ(p.at("SPAD_PSUM").get<int>(), a.spad_psum);
  } else {
    EXPECT_FALSE(p.contains("SPAD_IFMAP"));
  }

  EXPECT_EQ(sig.at("clock").at("name"), "clk_i");
  EXPECT_EQ(sig.at("clock").at("edge"), "posedge");
  EXPECT_DOUBLE_EQ(sig.at("clock").at("mhz").get<double>(), a.clock_mhz);
  EXPECT_EQ(sig.at("reset").at("name"), "rst_ni");
  EXPECT_EQ(sig.at("reset").at("active"), "low");

  const std::vector<Port> expected = top_ports(a);
  const json& ports = sig.at("ports");
  ASSERT_TRUE(ports.is_array());
  ASSERT_EQ(ports.size(), expected.size());
  std::set<std::string> names;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(ports[i].at("name"), expected[i].name) << "port " << i;
    EXPECT_EQ(ports[i].at("direction"), expected[i].input ? "input" : "output")
        << expected[i].name;
    EXPECT_EQ(ports[i].at("width").get<int>(), expected[i].width) << expected[i].name;
    EXPECT_GT(expected[i].width, 0) << expected[i].name;
    names.insert(expected[i].name);
  }
  EXPECT_EQ(names.size(), expected.size()) << "duplicate port names";
  ASSERT_TRUE(names.count("clk_i"));
  ASSERT_TRUE(names.count("rst_ni"));
  for (const Port& q : expected) {
    if (q.name == "rd_rsp_data_i" || q.name == "wr_data_o") {
      EXPECT_EQ(q.width, 8 * a.dram_bytes_per_cycle) << q.name;
    }
  }

  // The generated top declares the same ports, in the same order.
  const std::vector<Port> in_top = parse_top_ports(read_file((dir / "rtl" / (r.top + ".sv")).string()));
  ASSERT_EQ(in_top.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(in_top[i].name, expected[i].name) << "port " << i;
    EXPECT_EQ(in_top[i].input, expected[i].input) << expected[i].name;
    EXPECT_EQ(in_top[i].width, expected[i].width) << expected[i].name;
  }
}

// memories.json lists every memory with the shape the templates derive, and the memories of
// each buffer hold at least the buffer's bytes. The shapes are computed here from the rules
// of docs/architecture.md ("Memories"), not from rtlgen's code.
TEST_P(RtlgenTree, MemoriesListEveryBuffer) {
  const Accelerator a = GetParam().make();
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  const RtlResult r = generate_rtl(a, options(dir, /*lint=*/false));
  const json m = json::parse(read_file((dir / "rtl" / "memories.json").string()));
  EXPECT_EQ(m.at("top"), r.top);
  auto pow2_at_least = [](std::initializer_list<int> v) {
    int n = 2;
    while (n < std::max(v)) n *= 2;
    return n;
  };
  std::map<std::string, json> by_name;
  for (const json& e : m.at("memories")) {
    const std::string inst = e.at("instance");
    ASSERT_EQ(inst.rfind(r.top + ".u_core.", 0), 0u) << inst;
    by_name[inst.substr(r.top.size() + 8)] = e;
  }
  auto bits = [&](const std::string& name) {
    const json& e = by_name.at(name);
    return e.at("depth").get<long long>() * e.at("width_bits").get<long long>() *
           e.at("count").get<long long>();
  };
  auto expect = [&](const std::string& name, const std::string& kind, long long depth,
                    long long width, long long count) {
    ASSERT_TRUE(by_name.count(name)) << name << " missing from memories.json";
    const json& e = by_name.at(name);
    EXPECT_EQ(e.at("kind"), kind) << name;
    EXPECT_EQ(e.at("depth").get<long long>(), depth) << name;
    EXPECT_EQ(e.at("width_bits").get<long long>(), width) << name;
    EXPECT_EQ(e.at("count").get<long long>(), count) << name;
  };
  const int R = a.pe_rows, C = a.pe_cols, bpc = a.dram_bytes_per_cycle;
  const int nb = pow2_at_least({R, bpc});
  expect("u_ifmap_buf.g_bank[*].u_bank", "sram_1r1w", (a.ifmap_bytes() + nb - 1) / nb, 8, nb);
  EXPECT_GE(bits("u_ifmap_buf.g_bank[*].u_bank"), 8LL * a.ifmap_bytes());
  for (const char* copy : {"u_acc.u_rmw", "u_acc.u_store"}) {
    expect(copy, "sram_1r1w", a.acc_entries(), 32LL * C, 1);
    EXPECT_EQ(by_name.at(copy).at("read"), "sync");
  }
  expect("u_st.u_param", "sram_1r1w", 2, 8LL * 9 * C, 1);  // two slots of COLS x 9 bytes
  if (a.dataflow == Dataflow::RS) {
    // Banks of pe_cols-byte words, one per PE row at least: all the buffer but what a bank
    // row does not fill.
    const int wnb = pow2_at_least({R, 2});
    const std::string wbank = "g_rs.u_weight_buf.g_bank[*].u_bank";
    expect(wbank, "sram_1r1w", a.weight_bytes() / (1LL * C * wnb), 8LL * C, wnb);
    EXPECT_EQ(by_name.at(wbank).at("read"), "sync");
    EXPECT_GT(bits(wbank), 8LL * (a.weight_bytes() - 1LL * C * wnb));
    expect("g_rs.u_cmp.u_array.g_row[*].g_col[*].u_pe.u_filt", "sram_1rw", a.spad_filter, 8,
           1LL * R * C);
    EXPECT_EQ(by_name.size(), 6u);
  } else {
    const int w = pow2_at_least({C, bpc});
    for (const char* bank : {"g_ws.u_weight_buf.u_bank0", "g_ws.u_weight_buf.u_bank1"})
      expect(bank, "sram_1r1w", (a.weight_bytes() + 2 * w - 1) / (2 * w), 8LL * w, 1);
    EXPECT_GE(bits("g_ws.u_weight_buf.u_bank0") + bits("g_ws.u_weight_buf.u_bank1"),
              8LL * a.weight_bytes());
    EXPECT_EQ(by_name.size(), 6u);
  }
  // Every name on an instance's path is an instance or generate block of the tree.
  std::string verilog;
  for (const auto& f : r.files)
    if (f.size() > 3 && f.compare(f.size() - 3, 3, ".sv") == 0)
      verilog += read_file((dir / f).string());
  for (const auto& [name, e] : by_name) {
    std::stringstream path(name);
    for (std::string part; std::getline(path, part, '.');) {
      part = part.substr(0, part.find('['));
      EXPECT_TRUE(std::regex_search(verilog, std::regex("\\b" + part + "\\b"))) << name;
    }
  }
  // Every SRAM instance is one of the two wrappers, which the tree holds.
  for (const auto& [name, e] : by_name) {
    if (e.at("kind") == "multiport_array") continue;
    const std::string mod = e.at("module");
    EXPECT_TRUE(mod == "hdx_sram_2p" || mod == "hdx_sram_1p") << name;
    EXPECT_TRUE(fs::is_regular_file(dir / "rtl" / (mod + ".sv"))) << mod;
  }
}

INSTANTIATE_TEST_SUITE_P(rtlgen, RtlgenTree, ::testing::ValuesIn(configs()),
                         [](const ::testing::TestParamInfo<Config>& i) { return i.param.label; });

// 3. Synthesis of a small configuration to the shipped cell library, and its static timing:
// DIR/synth/netlist.v and report.json (area by kind, cells, flip-flops, memories as black
// boxes, worst slack and Fmax at the accelerator's clock).
// min_fmax_mhz: the adders keep their parallel-prefix carry trees (with ripple chains these
// configurations met 163 MHz, ws, and 74 MHz, rs), the requantizer's product has a stage of
// its own (282 MHz on ws without it) and rs registers its scratchpad-write counts (113 MHz
// without).
void check_synthesis(const Accelerator& a, double min_fmax_mhz) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  RtlOptions o = options(dir, /*lint=*/false);
  o.synth = true;
  RtlResult r;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    r = generate_rtl(a, o);
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::testing::Test::RecordProperty("synth_seconds", fmt::format("{:.1f}", secs));
  std::cout << fmt::format("[ info     ] generate_rtl with synthesis took {:.1f} s\n", secs);

  const fs::path report = dir / "synth" / "report.json";
  ASSERT_TRUE(fs::is_regular_file(report));
  const json s = json::parse(read_file(report.string()));
  EXPECT_EQ(r.synth, s);
  std::cout << fmt::format("[ info     ] {:.0f} um2, {} cells, {} flip-flops, slack {} ns, Fmax "
                           "{:.0f} MHz, {} -> {}\n", s.at("area_um2").get<double>(),
                           s.at("cells").get<long long>(), s.at("flip_flops").get<long long>(),
                           s.at("timing").at("worst_slack_ns").get<double>(),
                           s.at("timing").at("fmax_mhz").get<double>(),
                           s.at("timing").at("startpoint").get<std::string>(),
                           s.at("timing").at("endpoint").get<std::string>());
  EXPECT_EQ(s.at("library"), "hdx_generic45");
  EXPECT_GT(s.at("area_um2").get<double>(), 0);
  EXPECT_GT(s.at("flip_flops").get<long long>(), 0);
  // The kinds add up to the totals, and every cell is a cell of the library.
  double area = 0;
  long long cells = 0, ffs = 0;
  for (const auto& [kind, e] : s.at("by_kind").items()) {
    area += e.at("area_um2").get<double>();
    cells += e.at("cells").get<long long>();
    ffs += e.at("flip_flops").get<long long>();
  }
  EXPECT_NEAR(area, s.at("area_um2").get<double>(), 1e-6 * area);
  EXPECT_EQ(cells, s.at("cells").get<long long>());
  EXPECT_EQ(ffs, s.at("flip_flops").get<long long>());
  for (const char* kind : {"pe_array", "compute_control", "ifmap_buffer", "weight_buffer",
                           "accumulator", "load_engine", "store_engine", "output_stage",
                           "control"}) {
    ASSERT_TRUE(s.at("by_kind").contains(kind)) << kind;
    EXPECT_GT(s.at("by_kind").at(kind).at("area_um2").get<double>(), 0) << kind;
  }
  long long by_type = 0;
  for (const auto& [type, n] : s.at("cells_by_type").items()) {
    EXPECT_EQ(type.rfind("HDX_", 0), 0u) << type;
    by_type += n.get<long long>();
  }
  EXPECT_EQ(by_type, cells);
  // Memories: those of memories.json, black boxes in the netlist, priced by the shipped SRAM
  // table; the total is standard cells + SRAM, per kind and overall.
  const json mems = json::parse(read_file((dir / "rtl" / "memories.json").string()));
  const json& inst = s.at("memories").at("instances");
  ASSERT_EQ(inst.size(), mems.at("memories").size());
  const SramLib& sram = default_sram_lib();
  double sram_area = 0;
  for (size_t i = 0; i < inst.size(); ++i) {
    const json& m = mems.at("memories")[i];
    for (const auto& [k, v] : m.items()) EXPECT_EQ(inst[i].at(k), v) << k;
    const SramPrice p = price_sram(sram, m.at("kind"), m.at("depth"), m.at("width_bits"));
    EXPECT_NEAR(inst[i].at("area_um2").get<double>(),
                p.area_um2 * m.at("count").get<double>(), 1e-9 * p.area_um2);
    EXPECT_EQ(inst[i].at("macro").at("tiles").get<long long>(), p.tiles);
    sram_area += inst[i].at("area_um2").get<double>();
  }
  EXPECT_GT(sram_area, 0);
  EXPECT_NEAR(s.at("sram_area_um2").get<double>(), sram_area, 1e-9 * sram_area);
  EXPECT_NEAR(s.at("area_um2").get<double>(),
              s.at("std_cell_area_um2").get<double>() + sram_area, 1e-9 * sram_area);
  for (const auto& [kind, e] : s.at("by_kind").items())
    EXPECT_NEAR(e.at("area_um2").get<double>(),
                e.at("std_cell_area_um2").get<double>() + e.at("sram_area_um2").get<double>(),
                1e-6) << kind;
  EXPECT_GT(s.at("by_kind").at("ifmap_buffer").at("sram_area_um2").get<double>(), 0);
  const std::string netlist = read_file((dir / "synth" / "netlist.v").string());
  EXPECT_NE(netlist.find("hdx_sram_2p"), std::string::npos);
  EXPECT_EQ(netlist.find("\n  reg "), std::string::npos) << "unmapped register in the netlist";
  EXPECT_TRUE(std::regex_search(netlist, std::regex("module " + r.top + "\\b")));
  // Timing at the accelerator's clock; Fmax is the clock at which the slack would be 0.
  const json& t = s.at("timing");
  EXPECT_EQ(t.at("clock_mhz").get<double>(), a.clock_mhz);
  const double slack = t.at("worst_slack_ns").get<double>();
  EXPECT_EQ(t.at("met").get<bool>(), slack >= 0);
  EXPECT_NEAR(t.at("fmax_mhz").get<double>(), 1000.0 / (1000.0 / a.clock_mhz - slack), 1e-6);
  EXPECT_GT(t.at("fmax_mhz").get<double>(), min_fmax_mhz);
  // The endpoints that miss the clock, by register, worst first; the first is the worst path's.
  const json& v = t.at("violations");
  const json& regs = v.at("worst_registers");
  EXPECT_EQ(v.at("endpoints").get<long long>() > 0, slack < 0);
  if (slack < 0) {
    ASSERT_FALSE(regs.empty());
    EXPECT_NEAR(regs[0].at("worst_slack_ns").get<double>(), slack, 1e-4);
    long long listed = 0;
    for (size_t i = 0; i < regs.size(); ++i) {
      if (i > 0)
        EXPECT_LE(regs[i - 1].at("worst_slack_ns").get<double>(),
                  regs[i].at("worst_slack_ns").get<double>());
      const std::string name = regs[i].at("register");
      EXPECT_EQ(name.find("_reg"), std::string::npos) << name;
      EXPECT_FALSE(std::regex_search(name, std::regex(R"(\[[0-9]+\])"))) << name;
      listed += regs[i].at("endpoints").get<long long>();
    }
    EXPECT_LE(listed, v.at("endpoints").get<long long>());
    EXPECT_LE(static_cast<long long>(regs.size()), v.at("registers").get<long long>());
  }
  EXPECT_FALSE(t.at("startpoint").get<std::string>().empty());
  EXPECT_FALSE(t.at("endpoint").get<std::string>().empty());
  EXPECT_NE(read_file((dir / "synth" / "timing.txt").string()).find("slack"), std::string::npos);
  // The files are in the result and in the manifest; no temporary file is left.
  const json m = json::parse(read_file((dir / "manifest.json").string()));
  for (const char* f : {"synth/netlist.v", "synth/constraints.sdc", "synth/timing.txt",
                        "synth/report.json"})
    EXPECT_EQ(m.at("files").at(f).get<std::string>(), sha256_file((dir / f).string())) << f;
  for (const auto& f : files_under(dir / "synth"))
    EXPECT_TRUE(m.at("files").contains("synth/" + f)) << f;
}

TEST(rtlgen, SynthesizesSmallConfigWithYosys) {
  check_synthesis(accel("ws_2x2", 2, 2, 1, 1, 1, 1), 350);
}

TEST(rtlgen, SynthesizesSmallRsConfigWithYosys) {
  Accelerator a = accel("rs_2x2", 2, 2, 1, 1, 1, 1);
  a.dataflow = Dataflow::RS;
  a.spad_ifmap = 3;
  a.spad_filter = 6;
  a.spad_psum = 2;
  check_synthesis(a, 140);
}

// 4. Cell libraries: the shipped one has flip-flops and inverters; a library that does not
// parse, or lacks a flip-flop or an inverter, is a one-line error naming the file (exit 2),
// raised before anything is written.
TEST(rtlgen, ShippedLibertyHasTheCellsSynthesisNeeds) {
  const LibertyInfo lib = read_liberty_info(default_liberty());
  EXPECT_EQ(lib.name, "hdx_generic45");
  EXPECT_TRUE(lib.flip_flops.count("HDX_DFF_X1"));
  EXPECT_TRUE(lib.flip_flops.count("HDX_DFFR_X1"));
  EXPECT_TRUE(lib.inverters.count("HDX_INV_X1"));
  EXPECT_FALSE(lib.inverters.count("HDX_BUF_X1"));
}

// A bad --liberty or --sram-lib file (named `name`, holding `text`; none when empty): one
// line naming the file and `what`, rtlgen error `code`, exit 2, nothing written.
void expect_input_file_error(std::string RtlOptions::*option, const std::string& name,
                             const std::string& text, int code, const std::string& what) {
  TempDir tmp;
  const fs::path file = tmp.path() / name;
  if (!text.empty()) write_file_atomic(file.string(), text);
  RtlOptions o = options(tmp.path() / "out", /*lint=*/false);
  o.synth = true;
  o.*option = file.string();
  try {
    generate_rtl(accel("ws_2x2", 2, 2, 1, 1, 1, 1), o);
    FAIL() << "no error for " << what;
  } catch (const RtlError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), code) << msg;
    EXPECT_EQ(e.exit_code(), 2) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "out" / "rtl"));
}

void expect_liberty_error(const std::string& text, int code, const std::string& what) {
  expect_input_file_error(&RtlOptions::liberty, "my cells.lib", text, code, what);
}

const char* kInv =
    "  cell (I) { area : 1; pin (A) { direction : input; }\n"
    "    pin (Y) { direction : output; function : \"!A\"; } }\n";
const char* kFf =
    "  cell (F) { area : 4; ff (IQ, IQN) { next_state : \"D\"; clocked_on : \"C\"; }\n"
    "    pin (D) { direction : input; } pin (C) { direction : input; clock : true; }\n"
    "    pin (Q) { direction : output; function : \"IQ\"; } }\n";

TEST(rtlgen, LibertyThatDoesNotParseIsAnError) {
  expect_liberty_error(std::string("library (x) {\n") + kInv + kFf, 6, "does not parse");
  expect_liberty_error(std::string("library (x) {\n") + kInv + "  cell (F) { area 4; }\n}\n", 6,
                       "line 4");
  expect_liberty_error("cell (x) { }\n", 6, "no library group");
  expect_liberty_error("", 6, "cannot read");
}

TEST(rtlgen, LibertyWithoutFlipFlopOrInverterIsAnError) {
  expect_liberty_error(std::string("library (x) {\n") + kInv + "}\n", 7, "no flip-flop");
  expect_liberty_error(std::string("library (x) {\n") + kFf + "}\n", 7, "no inverter");
  // A library with both parses.
  TempDir tmp;
  write_file_atomic((tmp.path() / "ok.lib").string(), std::string("library (x) {\n") + kInv + kFf + "}\n");
  const LibertyInfo lib = read_liberty_info((tmp.path() / "ok.lib").string());
  EXPECT_EQ(lib.flip_flops, std::set<std::string>{"F"});
  EXPECT_EQ(lib.inverters, std::set<std::string>{"I"});
}

// SRAM tables: the shipped one prices every memory of the examples with the cheapest macro
// that holds it; a table that does not parse, or has no macro deep enough for a memory, is
// a one-line error naming the file (exit 2), raised before anything is written.
TEST(rtlgen, ShippedSramTablePricesEveryMemoryWithItsCheapestMacro) {
  const SramLib& lib = default_sram_lib();
  for (const char* f : {"accel_ws_4x4.json", "accel_ws_16x16.json", "accel_rs_4x4.json",
                        "accel_rs_12x14.json", "accel_ws_8x32.json"})
    for (const Memory& m : accelerator_memories(example(f))) {
      const SramPrice p = price_sram(lib, m.kind, m.depth, m.width);
      EXPECT_GE(p.macro.depth, m.depth) << f << " " << m.instance;
      EXPECT_EQ(p.tiles, (m.width + p.macro.width - 1) / p.macro.width);
      EXPECT_GE(p.tiles * p.macro.width, m.width);
      EXPECT_DOUBLE_EQ(p.area_um2, p.tiles * p.macro.area_um2);
      EXPECT_DOUBLE_EQ(p.read_pj, p.tiles * p.macro.read_pj);
      for (const SramMacro& x : lib.macros) {  // no other macro that holds it is cheaper
        if (x.kind == m.kind && x.depth >= m.depth)
          EXPECT_LE(p.area_um2, ((m.width + x.width - 1) / x.width) * x.area_um2);
      }
    }
  // Bigger memories cost more area and energy per access; the 64-bit reads pass near the
  // 45 nm figures the table is anchored to (8 KiB 10 pJ, 32 KiB 20 pJ; ISSCC 2014).
  const SramPrice k8 = price_sram(lib, "sram_1rw", 1024, 64), k32 = price_sram(lib, "sram_1rw", 4096, 64);
  EXPECT_LT(k8.area_um2, k32.area_um2);
  EXPECT_NEAR(k8.read_pj, 10, 1);
  EXPECT_NEAR(k32.read_pj, 20, 2);
  EXPECT_LT(k8.access_ns, k32.access_ns);
  EXPECT_LT(price_sram(lib, "sram_1rw", 4096, 8).area_um2, price_sram(lib, "sram_1r1w", 4096, 8).area_um2);
}

void expect_sram_lib_error(const std::string& text, const std::string& what) {
  expect_input_file_error(&RtlOptions::sram_lib, "my sram.json", text, 10, what);
}

TEST(rtlgen, SramTableThatDoesNotParseOrLacksAMacroIsAnError) {
  const std::string m = R"({"kind": "sram_1r1w", "depth": 64, "width": 32, "area_um2": 900,
      "read_pj": 1, "write_pj": 1.1, "access_ns": 0.3, "setup_ns": 0.1})";
  expect_sram_lib_error("", "cannot");
  expect_sram_lib_error("{\"name\": \"x\", \"macros\": [", "line");
  expect_sram_lib_error(R"({"name": "x", "macros": []})", "/macros");
  expect_sram_lib_error(R"({"name": "x", "macros": [{"kind": "sram_1r1w"}]})", "/macros/0/depth");
  expect_sram_lib_error(R"({"name": "x", "macros": [)" + m + R"(], "colour": 1})", "/colour");
  // ws 2x2 with 1 KiB buffers: banks of 512 words need a macro deeper than 64, and there is
  // no sram_1rw at all (not needed on ws).
  expect_sram_lib_error(R"({"name": "x", "macros": [)" + m + "]}",
                        "no sram_1r1w macro of 512 words or more");
  // The same table with a deep enough macro prices the memories.
  TempDir tmp;
  const fs::path f = tmp.path() / "ok.json";
  write_file_atomic(f.string(), R"({"name": "x", "macros": [)" + m + R"(, {"kind": "sram_1r1w",
      "depth": 1024, "width": 64, "area_um2": 9000, "read_pj": 5, "write_pj": 6,
      "access_ns": 0.5, "setup_ns": 0.1}]})");
  const SramLib lib = load_sram_lib(f.string());
  const SramPrice p = price_sram(lib, "sram_1r1w", 512, 128);
  EXPECT_EQ(p.macro.depth, 1024);
  EXPECT_EQ(p.tiles, 2);
  EXPECT_DOUBLE_EQ(p.area_um2, 18000);
  EXPECT_DOUBLE_EQ(p.write_pj, 12);
  const SramPrice q = price_sram(lib, "sram_1r1w", 2, 1008);  // 32 tiles of 64 x 32
  EXPECT_EQ(q.macro.depth, 64);
  EXPECT_EQ(q.tiles, 32);
}

// 5. DIR protection.
TEST(rtlgen, NonEmptyOutDirNeedsForce) {
  const Accelerator a = accel("ws_2x2", 2, 2, 1, 1, 1, 1);
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  fs::create_directories(dir);
  const fs::path keep = dir / "notes.txt";
  { std::ofstream(keep) << "mine\n"; }

  try {
    generate_rtl(a, options(dir, /*lint=*/false));
    FAIL() << "generate_rtl wrote into a non-empty directory without force";
  } catch (const RtlError& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
    EXPECT_EQ(e.stage(), "rtlgen");
  }
  // Nothing was written by the refused call.
  EXPECT_EQ(files_under(dir), std::set<std::string>{"notes.txt"});

  RtlOptions o = options(dir, /*lint=*/true);
  o.force = true;
  RtlResult r;
  try {
    r = generate_rtl(a, o);
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  EXPECT_TRUE(fs::is_regular_file(dir / "manifest.json"));
  EXPECT_TRUE(fs::is_regular_file(dir / "rtl" / (r.top + ".sv")));

  // Running again over its own output also needs force, and succeeds with it.
  EXPECT_THROW(generate_rtl(a, options(dir, /*lint=*/false)), RtlError);
  EXPECT_NO_THROW(generate_rtl(a, o));
}

TEST(rtlgen, EmptyExistingOutDirNeedsNoForce) {
  const Accelerator a = accel("ws_2x2", 2, 2, 1, 1, 1, 1);
  TempDir tmp;
  const fs::path dir = tmp.path() / "out";
  fs::create_directories(dir);
  EXPECT_NO_THROW(generate_rtl(a, options(dir, /*lint=*/false)));
  EXPECT_TRUE(fs::is_regular_file(dir / "manifest.json"));
}

TEST(rtlgen, OutDirThatIsARegularFileIsRejected) {
  const Accelerator a = accel("ws_2x2", 2, 2, 1, 1, 1, 1);
  TempDir tmp;
  const fs::path file = tmp.path() / "out";
  { std::ofstream(file) << "not a directory\n"; }
  for (bool force : {false, true}) {
    RtlOptions o = options(file, /*lint=*/false);
    o.force = force;
    try {
      generate_rtl(a, o);
      ADD_FAILURE() << "generate_rtl accepted a regular file as DIR (force " << force << ")";
    } catch (const RtlError& e) {
      EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_regular_file(file));
    EXPECT_EQ(read_file(file.string()), "not a directory\n");
  }
}

// Points HDX_DATA_DIR at a copy of the templates for the life of the object.
class DataDirCopy {
 public:
  explicit DataDirCopy(const fs::path& root) : root_(root) {
    if (const char* e = std::getenv("HDX_DATA_DIR")) old_ = e, had_old_ = true;
    fs::create_directories(root_);
    fs::copy(fs::path(data_dir()) / "templates", root_ / "templates",
             fs::copy_options::recursive);
    ::setenv("HDX_DATA_DIR", root_.string().c_str(), 1);
  }
  ~DataDirCopy() {
    if (had_old_)
      ::setenv("HDX_DATA_DIR", old_.c_str(), 1);
    else
      ::unsetenv("HDX_DATA_DIR");
  }
  // Declares an unused, undriven signal just before the last endmodule of a template.
  void add_lint_warning(const std::string& rel) const {
    const fs::path p = root_ / "templates" / rel;
    std::string text = read_file(p.string());
    const auto at = text.rfind("endmodule");
    ASSERT_NE(at, std::string::npos) << rel;
    text.insert(at, "  logic hdx_lint_probe;\n");
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  }

 private:
  fs::path root_;
  std::string old_;
  bool had_old_ = false;
};

// The lint really is -Wall and any warning fails generation.
TEST(rtlgen, LintWarningInTemplateFailsGeneration) {
  const Accelerator a = accel("ws_2x2", 2, 2, 1, 1, 1, 1);
  TempDir tmp;
  DataDirCopy data(tmp.path() / "data");
  const std::string clean_hash = config_hash(a);
  data.add_lint_warning("systolic/hdx_ws_pe.sv");
  // The hash covers the template sources (it keys the simulation build cache).
  EXPECT_NE(config_hash(a), clean_hash);
  try {
    generate_rtl(a, options(tmp.path() / "out", /*lint=*/true));
    ADD_FAILURE() << "a template with an unused, undriven signal passed lint";
  } catch (const RtlError& e) {
    EXPECT_NE(std::string(e.what()).find("Verilator lint"), std::string::npos) << e.what();
  }
}

// 6. The config hash keys on what changes the Verilog and nothing else.
TEST(rtlgen, ConfigHashDependsOnlyOnWhatChangesTheVerilog) {
  const Accelerator base = accel("ws_4x4", 4, 4, 4, 8, 4, 4);
  const std::string h = config_hash(base);
  EXPECT_TRUE(std::regex_match(h, std::regex("[0-9a-f]{16}"))) << h;
  EXPECT_EQ(config_hash(base), h) << "not deterministic";

  Accelerator x = base;
  x.dram_latency_cycles = base.dram_latency_cycles + 17;
  EXPECT_EQ(config_hash(x), h) << "DRAM latency changed the hash";
  x = base;
  x.clock_mhz = 250.0;
  EXPECT_EQ(config_hash(x), h) << "clock changed the hash";
  x = base;
  x.dram_latency_cycles = 0;
  x.clock_mhz = 1000.0;
  EXPECT_EQ(config_hash(x), h) << "latency and clock together changed the hash";

  std::map<std::string, Accelerator> differ;
  auto variant = [&](const char* what, auto&& change) {
    Accelerator v = base;
    change(v);
    differ[what] = v;
  };
  variant("pe_rows", [](Accelerator& v) { v.pe_rows = 8; });
  variant("pe_cols", [](Accelerator& v) { v.pe_cols = 8; });
  variant("bpc", [](Accelerator& v) { v.dram_bytes_per_cycle = 8; });
  variant("ifmap_kib", [](Accelerator& v) { v.ifmap_kib = 16; });
  variant("weight_kib", [](Accelerator& v) { v.weight_kib = 8; });
  variant("ofmap_kib", [](Accelerator& v) { v.ofmap_kib = 8; });
  variant("name", [](Accelerator& v) { v.name = "ws_4x4_b"; });
  std::set<std::string> seen = {h};
  for (const auto& [what, acc] : differ) {
    const std::string hx = config_hash(acc);
    EXPECT_NE(hx, h) << what << " did not change the hash";
    EXPECT_TRUE(seen.insert(hx).second) << what << " collides with another variant";
  }
}

}  // namespace
