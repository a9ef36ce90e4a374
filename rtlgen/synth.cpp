#include "synth.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <utility>
#include <vector>

#include "errors.h"
#include "json_util.h"
#include "rtlgen.h"
#include "util.h"

namespace fs = std::filesystem;

namespace hdx {
namespace {

// A liberty file as nested groups: `name (args) { ... }`, `name : value ;`, `name (args) ;`.
struct Group {
  std::string kind, arg;
  std::map<std::string, std::string> attrs;  // simple attributes, quotes removed
  std::vector<Group> groups;
};

class LibertyParser {
 public:
  LibertyParser(const std::string& path, const std::string& text) : path_(path), s_(text) {}

  Group parse() {
    Group root;
    statements(root);
    if (peek() != "") fail(fmt::format("unexpected '{}'", tok_));
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw RtlError(6, fmt::format("{}: line {}: does not parse as a liberty file ({})", path_,
                                  line_, what), 2);
  }
  void skip() {
    for (;;) {
      while (i_ < s_.size() && (std::isspace(static_cast<unsigned char>(s_[i_])) || s_[i_] == '\\')) {
        if (s_[i_] == '\n') ++line_;
        ++i_;
      }
      if (s_.compare(i_, 2, "/*") == 0) {
        const size_t e = s_.find("*/", i_ + 2);
        if (e == std::string::npos) fail("unterminated comment");
        for (size_t k = i_; k < e; ++k) line_ += s_[k] == '\n';
        i_ = e + 2;
      } else if (s_.compare(i_, 2, "//") == 0) {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else {
        return;
      }
    }
  }
  // The next token without taking it: a punctuation character, a quoted string (with its
  // quotes) or a word; "" at the end.
  const std::string& peek() {
    if (have_) return tok_;
    skip();
    tok_.clear();
    if (i_ >= s_.size()) {
    } else if (std::string("(){}:;,").find(s_[i_]) != std::string::npos) {
      tok_ = s_[i_++];
    } else if (s_[i_] == '"') {
      const size_t e = s_.find('"', i_ + 1);
      if (e == std::string::npos) fail("unterminated string");
      tok_ = s_.substr(i_, e + 1 - i_);
      for (size_t k = i_; k < e; ++k) line_ += s_[k] == '\n';
      i_ = e + 1;
    } else {
      const size_t b = i_;
      while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_])) &&
             std::string("(){}:;,\"").find(s_[i_]) == std::string::npos)
        ++i_;
      tok_ = s_.substr(b, i_ - b);
    }
    have_ = true;
    return tok_;
  }
  std::string take() {
    std::string t = peek();
    have_ = false;
    return t;
  }
  void expect(const char* t) {
    if (take() != t) fail(fmt::format("expected '{}', found '{}'", t, tok_));
  }
  static std::string unquote(const std::string& t) {
    return t.size() >= 2 && t.front() == '"' ? t.substr(1, t.size() - 2) : t;
  }
  void statements(Group& g) {
    while (peek() != "" && peek() != "}") {
      const std::string name = take();
      if (std::string("(){}:;,").find(name[0]) != std::string::npos || name[0] == '"')
        fail(fmt::format("unexpected '{}'", name));
      if (peek() == ":") {
        take();
        std::string v = take();
        if (v == "" || v == ";" || v == "}") fail(fmt::format("no value for '{}'", name));
        // A value may be an expression of several words (`2 * 3`); keep the first.
        while (peek() != ";" && peek() != "}" && peek() != "") take();
        if (peek() == ";") take();
        g.attrs[name] = unquote(v);
      } else if (peek() == "(") {
        take();
        std::string args;
        while (peek() != ")") {
          if (peek() == "" || peek() == "{" || peek() == "}") fail("unbalanced '('");
          args += (args.empty() ? "" : " ") + unquote(take());
        }
        take();
        if (peek() == "{") {
          take();
          Group sub{name, args, {}, {}};
          statements(sub);
          expect("}");
          g.groups.push_back(std::move(sub));
        } else if (peek() == ";") {
          take();
        }
      } else {
        fail(fmt::format("expected ':' or '(' after '{}'", name));
      }
    }
  }

  std::string path_;
  const std::string& s_;
  size_t i_ = 0;
  int line_ = 1;
  bool have_ = false;
  std::string tok_;
};

std::string strip(const std::string& f) {
  std::string s;
  for (char c : f)
    if (!std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')') s += c;
  return s;
}

std::string base_module(const std::string& name) {
  const auto p = name.rfind('\\');
  return p == std::string::npos ? name : name.substr(p + 1);
}

// The kind of each module whose hierarchy synthesis keeps (docs/architecture.md, section 7).
const std::map<std::string, std::string>& module_kinds() {
  static const std::map<std::string, std::string> k = {
      {"hdx_ws_array", "pe_array"},      {"hdx_rs_array", "pe_array"},
      {"hdx_ws_pe", "pe_array"},         {"hdx_rs_pe", "pe_array"},
      {"hdx_ws_cmp", "compute_control"}, {"hdx_rs_cmp", "compute_control"},
      {"hdx_ibuf", "ifmap_buffer"},      {"hdx_buf", "weight_buffer"},
      {"hdx_wbuf", "weight_buffer"},     {"hdx_acc", "accumulator"},
      {"hdx_ld", "load_engine"},         {"hdx_st", "store_engine"},
      {"hdx_requant", "output_stage"}};
  return k;
}

// The ABC script that maps the logic to the library, as an inline script for Yosys's `abc
// -script +...` (commas for spaces). It is Yosys's default script for a liberty with
// constraints less its `dc2` step: that area rewriting turns the adders' parallel-prefix carry
// trees (Brent-Kung, from Yosys's techmap) back into ripple chains, 63 gates deep for a 64-bit
// counter. Synthesis also runs without its own fast ABC pass (`synth -noabc`) for the same
// reason. `delay_ps` is the delay target, the clock period.
std::string abc_script(double delay_ps) {
  const std::string d = fmt::format("-D,{:.0f}", delay_ps);
  return fmt::format("+strash;&get,-n;&fraig,-x;&put;scorr;dretime;retime,-o,{0};strash;"
                     "&get,-n;&dch,-f;&nf,{0};&put;buffer;upsize,{0};dnsize,{0};stime,-p",
                     d);
}

std::string first_line(const std::string& s) {
  std::stringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (l.find("ERROR") != std::string::npos || l.find("rror:") != std::string::npos) return l;
  return s.substr(0, s.find('\n'));
}

// The endpoints that miss the clock (OpenSTA's `report_checks -slack_max 0 -format end`),
// grouped by register: bit and generate indices become [*], so the 64 bits of a counter, or a
// register in every PE, are one entry. Worst first, the first kMaxRegisters of them.
nlohmann::json violations_by_register(const std::string& report) {
  constexpr size_t kMaxRegisters = 10;
  static const std::regex line_re(
      R"(^(\S+) \([^)]*\)\s+-?[0-9.]+\s+-?[0-9.]+\s+(-?[0-9.]+) \(VIOLATED\))");
  static const std::regex index_re(R"(\[[0-9]+\])");
  struct Reg {
    long long endpoints = 0;
    double worst = 0;
  };
  std::map<std::string, Reg> regs;
  long long endpoints = 0;
  std::stringstream lines(report);
  std::smatch m;
  for (std::string l; std::getline(lines, l);) {
    if (!std::regex_search(l, m, line_re)) continue;
    std::string name = m[1];
    name = name.substr(0, name.rfind('/'));  // the flip-flop's D pin; a port has no pin
    if (name.size() > 4 && name.compare(name.size() - 4, 4, "_reg") == 0)
      name.resize(name.size() - 4);
    name = std::regex_replace(name, index_re, "[*]");
    Reg& r = regs[name];
    const double slack = std::stod(m[2]);
    r.worst = r.endpoints == 0 ? slack : std::min(r.worst, slack);
    ++r.endpoints;
    ++endpoints;
  }
  std::vector<std::pair<std::string, Reg>> v(regs.begin(), regs.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.second.worst != b.second.worst ? a.second.worst < b.second.worst : a.first < b.first;
  });
  nlohmann::json by = nlohmann::json::array();
  for (size_t i = 0; i < std::min(v.size(), kMaxRegisters); ++i)
    by.push_back({{"register", v[i].first},
                  {"endpoints", v[i].second.endpoints},
                  {"worst_slack_ns", v[i].second.worst}});
  return {{"endpoints", endpoints}, {"registers", v.size()}, {"worst_registers", by}};
}

// Static timing of the netlist: the worst setup path at the clock.
nlohmann::json timing(const fs::path& tmp, const std::string& top, const std::string& liberty,
                      double clock_mhz) {
  const double period = 1000.0 / clock_mhz;
  const std::string sdc = fmt::format(
      "# generated by hdx: clock {} MHz on clk_i; inputs and outputs at the clock edge\n"
      "create_clock -name clk -period {:.4f} [get_ports clk_i]\n"
      "set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk_i]]\n"
      "set_output_delay 0 -clock clk [all_outputs]\n",
      clock_mhz, period);
  write_file_atomic((tmp / "constraints.sdc").string(), sdc);
  write_file_atomic((tmp / "sta.tcl").string(),
                    fmt::format("read_liberty {{{}}}\nread_verilog netlist.v\nlink_design {}\n"
                                "read_sdc constraints.sdc\n"
                                "report_checks -path_delay max -digits 4 > timing.txt\n"
                                "report_checks -path_delay max -slack_max 0 -group_count "
                                "100000000 -format end -digits 4 > violations.txt\nexit\n",
                                fs::absolute(liberty).string(), top));
  std::string out;
  const int rc = run_command({"sta", "-no_splash", "-exit", "sta.tcl"}, &out, tmp.string());
  if (rc != 0 || out.find("Error") != std::string::npos || !fs::exists(tmp / "timing.txt"))
    throw RtlError(8, fmt::format("OpenSTA timing of {} failed (exit {}): {}", top, rc,
                                  first_line(out)));
  // One path per path group (registers, asynchronous resets); the worst of them counts.
  const std::string rep = read_file((tmp / "timing.txt").string());
  static const std::regex slack_re(R"(^\s*(-?[0-9.]+)\s+slack \((MET|VIOLATED)\))");
  nlohmann::json t = {{"clock_mhz", clock_mhz}, {"period_ns", period}};
  std::stringstream lines(rep);
  std::string start, end;
  std::smatch m;
  for (std::string l; std::getline(lines, l);) {
    if (l.rfind("Startpoint: ", 0) == 0) start = l.substr(12, l.find(' ', 12) - 12);
    if (l.rfind("Endpoint: ", 0) == 0) end = l.substr(10, l.find(' ', 10) - 10);
    if (!std::regex_search(l, m, slack_re)) continue;
    const double slack = std::stod(m[1]);
    if (t.contains("worst_slack_ns") && t["worst_slack_ns"].get<double>() <= slack) continue;
    t["worst_slack_ns"] = slack;
    t["met"] = slack >= 0;
    t["startpoint"] = start;
    t["endpoint"] = end;
    t["fmax_mhz"] = 1000.0 / (period - slack);
  }
  if (!t.contains("worst_slack_ns"))
    throw RtlError(8, fmt::format("OpenSTA found no timed path in {} (see timing.txt)", top));
  t["violations"] = violations_by_register(read_file((tmp / "violations.txt").string()));
  return t;
}

}  // namespace

LibertyInfo read_liberty_info(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const Error& e) {
    throw RtlError(6, fmt::format("{}: cannot read the liberty file", path), 2);
  }
  const Group root = LibertyParser(path, text).parse();
  if (root.groups.size() != 1 || root.groups[0].kind != "library")
    throw RtlError(6, fmt::format("{}: does not parse as a liberty file (no library group)", path),
                   2);
  LibertyInfo info;
  info.name = root.groups[0].arg;
  for (const Group& cell : root.groups[0].groups) {
    if (cell.kind != "cell") continue;
    if (cell.attrs.count("area")) info.area[cell.arg] = std::atof(cell.attrs.at("area").c_str());
    std::vector<std::string> ins, funcs;
    double cap = 0;
    for (const Group& g : cell.groups) {
      if (g.kind == "ff") info.flip_flops.insert(cell.arg);
      if (g.kind != "pin") continue;
      const auto dir = g.attrs.find("direction");
      if (dir == g.attrs.end()) continue;
      if (dir->second == "input") {
        ins.push_back(g.arg);
        if (g.attrs.count("capacitance")) cap = std::atof(g.attrs.at("capacitance").c_str());
      }
      const auto f = g.attrs.find("function");
      if (dir->second == "output" && f != g.attrs.end()) funcs.push_back(strip(f->second));
    }
    if (ins.size() == 1 && funcs.size() == 1 &&
        (funcs[0] == "!" + ins[0] || funcs[0] == ins[0] + "'")) {
      if (info.inverters.empty()) info.inverter_cap = cap;
      info.inverters.insert(cell.arg);
    }
  }
  if (info.flip_flops.empty() || info.inverters.empty())
    throw RtlError(7, fmt::format("{}: the library has no {} cell; hdx rtl --synth needs an "
                                  "inverter and a flip-flop", path,
                                  info.flip_flops.empty() ? "flip-flop (ff group)" : "inverter"),
                   2);
  return info;
}

SramLib sram_lib_for(const std::string& path, const nlohmann::json& mems) {
  const std::string file = path.empty() ? default_sram_lib_path() : path;
  try {
    SramLib lib = load_sram_lib(file);
    for (const auto& m : mems)
      price_sram(lib, m.at("kind").get<std::string>(), m.at("depth").get<long long>(),
                 m.at("width_bits").get<long long>());
    return lib;
  } catch (const ConfigError& e) {
    const std::string body = error_body(e);
    throw RtlError(10, fmt::format("SRAM table {}", body.rfind(file, 0) == 0 ? body
                                                        : file + ": " + body), 2);
  }
}

std::string default_liberty() { return data_dir() + "/techlib/hdx_generic45.lib"; }

nlohmann::json synthesize(const SynthInput& in, std::vector<std::string>* files) {
  const LibertyInfo lib = read_liberty_info(in.liberty);
  const fs::path dir(in.dir), out = dir / "synth";
  nlohmann::json mems =
      nlohmann::json::parse(read_file((dir / "rtl" / "memories.json").string())).at("memories");
  const SramLib sram = sram_lib_for(in.sram_lib, mems);
  require_tool("yosys", "yosys");
  require_tool("sta", "opensta");
  const fs::path tmp = out / fmt::format(".tmp-{}", ::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw RtlError(3, fmt::format("cannot create {}: {}", tmp.string(), ec.message()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{tmp};
  const std::string liberty = fs::absolute(in.liberty).string();

  // The SRAM wrappers are read as black boxes (their ports only); the buffers, engines and
  // the PE array keep their hierarchy through mapping so that stat counts each one's cells,
  // then the netlist is flattened for timing. abc maps against the clock (abc_script), buffers
  // and sizes, with the library's inverter driving every input and four inverter inputs on
  // every output.
  const std::string t = tmp.filename().string();
  write_file_atomic((tmp / "abc.constr").string(),
                    fmt::format("set_driving_cell {}\nset_load {}\n", *lib.inverters.begin(),
                                4 * lib.inverter_cap));
  std::string script = fmt::format("read_liberty -lib \"{}\"; read_verilog -sv -lib", liberty);
  std::string rest = "read_verilog -sv -I rtl";
  for (const auto& f : in.rtl_files)
    (f == "hdx_sram_1p.sv" || f == "hdx_sram_2p.sv" ? script : rest) += " rtl/" + f;
  script += "; " + rest + fmt::format("; hierarchy -top {}", in.top);
  for (const auto& [mod, kind] : module_kinds())
    script += fmt::format("; setattr -mod -set keep_hierarchy 1 *\\{}", mod);
  std::string ff_sel;  // flip-flops take the names of the registers they hold, for timing.txt
  for (const auto& c : lib.flip_flops) ff_sel += " t:" + c;
  script += fmt::format(
      "; synth -flatten -noabc -top {0}; dfflibmap -liberty \"{1}\"; "
      "abc -liberty \"{1}\" -constr synth/{3}/abc.constr -script \"{2}\"; opt_clean; "
      "tee -q -o synth/{3}/stat.json stat -json; "
      "setattr -mod -unset keep_hierarchy; hierarchy -top {0}; flatten; "
      "setparam -unset DEPTH -unset AW -unset WIDTH -unset NBE t:hdx_sram_1p t:hdx_sram_2p; "
      "opt_clean -purge; rename -wire -suffix _reg{4}; "
      "write_verilog -noattr -noexpr -nohex -nodec -simple-lhs synth/{3}/netlist.v",
      in.top, liberty, abc_script(1e6 / in.clock_mhz), t, ff_sel);
  std::string log;
  const int rc = run_command({"yosys", "-q", "-p", script}, &log, in.dir);
  if (rc != 0)
    throw RtlError(5, fmt::format("Yosys synthesis of {} failed (exit {}): {}", in.top, rc,
                                  first_line(log)));
  // Yosys 0.23's stat -json writes the hierarchy as text lines inside the JSON; drop them.
  std::string json_text;
  {
    std::stringstream ss(read_file((tmp / "stat.json").string()));
    for (std::string l; std::getline(ss, l);)
      if (l.find_first_of("\"{}[]") != std::string::npos) json_text += l + "\n";
  }
  const nlohmann::json stat = nlohmann::json::parse(json_text);

  // Instances of each module, from the top down; a module's own cells count once per instance.
  // Module names without Yosys's leading backslash, as the cell types name them.
  nlohmann::json mods = nlohmann::json::object();
  for (const auto& [name, m] : stat.at("modules").items())
    mods[name.rfind('\\', 0) == 0 ? name.substr(1) : name] = m;
  std::map<std::string, long long> count;
  std::vector<std::string> order = {in.top};
  count[order[0]] = 1;
  for (size_t i = 0; i < order.size(); ++i) {
    if (!mods.contains(order[i])) continue;
    for (const auto& [type, n] : mods.at(order[i]).at("num_cells_by_type").items())
      if (mods.contains(type)) {
        if (!count.count(type)) order.push_back(type);
        count[type] += count[order[i]] * n.get<long long>();
      }
  }
  nlohmann::json by_kind = nlohmann::json::object(), by_type = nlohmann::json::object();
  double area = 0;
  long long cells = 0, ffs = 0;
  for (const auto& [mod, n] : count) {
    if (!mods.contains(mod)) continue;
    const auto k = module_kinds().find(base_module(mod));
    const std::string kind = mod == order[0] ? "control" : k != module_kinds().end() ? k->second : "other";
    nlohmann::json& e = by_kind[kind];
    if (e.is_null()) e = {{"area_um2", 0.0}, {"cells", 0}, {"flip_flops", 0}};
    for (const auto& [type, c] : mods.at(mod).at("num_cells_by_type").items()) {
      if (mods.contains(type) || type.rfind("hdx_sram_", 0) == 0) continue;  // submodule, SRAM
      const long long x = c.get<long long>() * n;
      const auto ca = lib.area.find(type);
      if (ca == lib.area.end())
        throw RtlError(5, fmt::format("Yosys left cell type {} in {}, which {} does not define "
                                      "(or gives no area)", type, in.top, in.liberty));
      e["area_um2"] = e["area_um2"].get<double>() + ca->second * x;
      area += ca->second * x;
      by_type[type] = by_type.value(type, 0LL) + x;
      e["cells"] = e["cells"].get<long long>() + x;
      cells += x;
      if (lib.flip_flops.count(type)) {
        e["flip_flops"] = e["flip_flops"].get<long long>() + x;
        ffs += x;
      }
    }
  }
  // The SRAM macros: area per memory (all its instances), added to its block's kind.
  for (auto& [kind, e] : by_kind.items()) {
    e["std_cell_area_um2"] = e["area_um2"];
    e["sram_area_um2"] = 0.0;
  }
  long long bits = 0;
  double sram_area = 0, max_access = 0, max_setup = 0;
  for (auto& m : mems) {
    const long long n = m.at("count").get<long long>();
    bits += m.at("depth").get<long long>() * m.at("width_bits").get<long long>() * n;
    const SramPrice p = price_sram(sram, m.at("kind").get<std::string>(),
                                   m.at("depth").get<long long>(),
                                   m.at("width_bits").get<long long>());
    const double a = p.area_um2 * static_cast<double>(n);
    m["macro"] = {{"depth", p.macro.depth}, {"width", p.macro.width}, {"tiles", p.tiles}};
    m["area_um2"] = a;
    m["read_pj"] = p.read_pj;
    m["write_pj"] = p.write_pj;
    m["access_ns"] = p.access_ns;
    m["setup_ns"] = p.setup_ns;
    sram_area += a;
    max_access = std::max(max_access, p.access_ns);
    max_setup = std::max(max_setup, p.setup_ns);
    const std::string block = m.value("block", "other");
    nlohmann::json& e = by_kind[block];
    if (e.is_null())
      e = {{"area_um2", 0.0}, {"std_cell_area_um2", 0.0}, {"sram_area_um2", 0.0},
           {"cells", 0}, {"flip_flops", 0}};
    e["sram_area_um2"] = e["sram_area_um2"].get<double>() + a;
    e["area_um2"] = e["area_um2"].get<double>() + a;
  }
  nlohmann::json tm = timing(tmp, in.top, liberty, in.clock_mhz);
  // The macros are not in the netlist OpenSTA times; their own limit is access + setup.
  tm["sram_max_access_ns"] = max_access;
  tm["sram_max_setup_ns"] = max_setup;
  tm["sram_fits_period"] = max_access + max_setup <= 1000.0 / in.clock_mhz;

  nlohmann::json report = {
      {"top", in.top},
      {"liberty", in.liberty},
      {"library", lib.name},
      {"area_um2", area + sram_area},
      {"std_cell_area_um2", area},
      {"sram_area_um2", sram_area},
      {"sram_lib", sram.file},
      {"cells", cells},
      {"flip_flops", ffs},
      {"by_kind", by_kind},
      {"cells_by_type", by_type},
      {"memories", {{"note", "SRAM wrappers are black boxes priced by the SRAM table: in "
                             "area_um2, not in the paths OpenSTA times"},
                    {"bits", bits},
                    {"area_um2", sram_area},
                    {"instances", mems}}},
      {"timing", tm}};

  for (const char* f : {"netlist.v", "constraints.sdc", "timing.txt"}) {
    fs::rename(tmp / f, out / f, ec);
    if (ec) throw IoError(2, fmt::format("cannot write {}: {}", (out / f).string(), ec.message()));
    files->push_back(std::string("synth/") + f);
  }
  write_file_atomic((out / "report.json").string(), report.dump(2) + "\n");
  files->push_back("synth/report.json");
  return report;
}

}  // namespace hdx
