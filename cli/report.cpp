#include "report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "accel.h"
#include "errors.h"
#include "json_util.h"
#include "model.h"
#include "network.h"
#include "plot.h"
#include "util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace hdx::cli {

namespace {

json read_json(const std::string& path) {
  if (!fs::exists(path))
    throw IoError(53, fmt::format("{}: missing; the report reads what the earlier stages wrote, "
                                  "run them first (hdx flow --from search)", path), 2);
  try {
    return parse_json_text(read_file(path), path);
  } catch (const ConfigError& e) {
    throw IoError(53, fmt::format("{}; run its stage again", error_body(e)), 2);
  }
}


std::string num(double v) { return fmt::format("{:.4g}", v); }
std::string pct(double v) { return fmt::format("{:.2f}%", 100 * v); }

// history.csv rows of the search phases: (accuracy, objective value, feasible).
struct Point {
  double acc, obj;
  bool feasible;
  int epoch;
};

// The objective's value of a row: its column, or latency x energy for "edp".
std::vector<Point> search_points(const std::string& path, const std::string& obj_col) {
  std::ifstream in(path);
  if (!in) throw IoError(53, fmt::format("{}: missing; run the search stage", path), 2);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> head;
  {
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) head.push_back(c);
  }
  auto col = [&](const std::string& n) {
    const auto it = std::find(head.begin(), head.end(), n);
    if (it == head.end()) throw IoError(53, fmt::format("{}: no column '{}'", path, n), 2);
    return static_cast<size_t>(it - head.begin());
  };
  const bool edp = obj_col == "edp";
  const size_t ca = col("accuracy"), co = col(edp ? "latency_ms" : obj_col),
               ce2 = col("energy_uj"), cf = col("meets_constraints"), cp = col("phase"),
               ce = col("epoch");
  std::vector<Point> pts;
  while (std::getline(in, line)) {
    std::vector<std::string> v;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) v.push_back(c);
    if (v.size() != head.size() || v[cp] == "train") continue;
    // An epoch whose design did not map has empty metric fields: not a point of the plot.
    auto number = [](const std::string& f) {
      char* end = nullptr;
      const double d = std::strtod(f.c_str(), &end);
      return f.empty() || *end ? NAN : d;
    };
    const double o = edp ? number(v[co]) * number(v[ce2]) : number(v[co]);
    const double acc = number(v[ca]);
    if (std::isfinite(o) && std::isfinite(acc))
      pts.push_back({acc, o, v[cf] == "1", static_cast<int>(number(v[ce]))});
  }
  return pts;
}

// Horizontal bars, one per (label, value).
std::string svg_hbars(const std::string& title, const std::string& unit,
                      const std::vector<std::pair<std::string, double>>& bars) {
  const int w = 640, left = 130, bh = 22, top = 34, h = top + bh * static_cast<int>(bars.size()) + 20;
  double mx = 0;
  for (const auto& b : bars) mx = std::max(mx, b.second);
  if (mx <= 0) mx = 1;
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
      "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      w, h, w, h, xml_escape(title));
  double total = 0;
  for (const auto& b : bars) total += b.second;
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y = top + bh * static_cast<double>(i);
    const double bw = (w - left - 150) * bars[i].second / mx;
    o += fmt::format("<text x=\"{}\" y=\"{:.0f}\" font-size=\"12\" text-anchor=\"end\">{}</text>"
                     "<rect x=\"{}\" y=\"{:.0f}\" width=\"{:.1f}\" height=\"{}\" fill=\"#4c78a8\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.0f}\" font-size=\"11\">{} {} ({:.1f}%)</text>\n",
                     left - 6, y + 15, xml_escape(bars[i].first), left, y + 3, bw, bh - 6,
                     left + bw + 5, y + 15, num(bars[i].second), unit,
                     total > 0 ? 100 * bars[i].second / total : 0.0);
  }
  return o + "</svg>\n";
}

// Model and RTL cycles per layer, side by side.
std::string svg_cycles(const json& layers) {
  const int n = static_cast<int>(layers.size());
  const int left = 70, gw = std::max(28, std::min(60, 900 / std::max(1, n))), top = 40,
            ph = 220, w = left + gw * n + 20, h = top + ph + 110;
  double mx = 1;
  for (const auto& l : layers)
    mx = std::max({mx, l["model_cycles"].get<double>(), l["rtl_cycles"].get<double>()});
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
      "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Cycles per layer: model "
      "(blue) and RTL (orange)</text>\n"
      "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#888\"/>"
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{:.0f}</text>"
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text>\n",
      w, h, w, h, left, w - 10, top + ph, top + ph, left - 4, top + 8, mx, left - 4, top + ph);
  for (int i = 0; i < n; ++i) {
    const json& l = layers[static_cast<size_t>(i)];
    const double x = left + gw * i + 3, bw = (gw - 8) / 2.0;
    const double hm = ph * l["model_cycles"].get<double>() / mx,
                 hr = ph * l["rtl_cycles"].get<double>() / mx;
    o += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                     "fill=\"#4c78a8\"/><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                     "height=\"{:.1f}\" fill=\"#f58518\"/>\n",
                     x, top + ph - hm, bw, hm, x + bw + 1, top + ph - hr, bw, hr);
    const std::string name = l["name"].get<std::string>() + (l["host"].get<bool>() ? " (host)" : "");
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" transform=\"rotate(60 {:.1f} "
                     "{})\">{}</text>\n", x + 4, top + ph + 10, x + 4, top + ph + 10, xml_escape(name));
  }
  return o + "</svg>\n";
}

// Accuracy against the objective for the designs seen during the search (one per epoch),
// feasible ones as green dots and infeasible ones as red crosses, the Pareto front of the
// feasible ones as a line, the chosen design circled.
std::string svg_pareto(const std::vector<Point>& pts, const std::string& obj_label,
                       double chosen_obj) {
  const int w = 640, h = 380, l = 70, r = 20, t = 34, b = 50;
  const double pw = w - l - r, ph = h - t - b;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Point& p : pts) {
    xlo = std::min(xlo, p.obj), xhi = std::max(xhi, p.obj);
    ylo = std::min(ylo, p.acc), yhi = std::max(yhi, p.acc);
  }
  xlo = std::min(xlo, chosen_obj), xhi = std::max(xhi, chosen_obj);
  if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (xhi - xlo < 1e-12) xhi = xlo + std::max(1e-6, std::fabs(xlo) * 0.1);
  if (yhi - ylo < 1e-6) yhi = ylo + 0.01;
  const double px = (xhi - xlo) * 0.06, py = (yhi - ylo) * 0.08;
  xlo -= px, xhi += px, ylo -= py, yhi += py;
  auto X = [&](double v) { return l + pw * (v - xlo) / (xhi - xlo); };
  auto Y = [&](double v) { return t + ph * (1 - (v - ylo) / (yhi - ylo)); };
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\"><rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
      "<text x=\"8\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Designs seen during the "
      "search: search_val accuracy vs {}</text>\n"
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n"
      "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{} (exact model)</text>\n"
      "<text x=\"15\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 15 "
      "{})\">search_val accuracy</text>\n",
      w, h, w, h, xml_escape(obj_label), l, t, pw, ph, l + pw / 2, h - 12, xml_escape(obj_label), t + ph / 2,
      t + ph / 2);
  for (int k = 0; k <= 4; ++k) {
    const double xv = xlo + (xhi - xlo) * k / 4, yv = ylo + (yhi - ylo) * k / 4;
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>"
                     "<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.1f}%</text>\n",
                     X(xv), t + ph + 14, num(xv), l - 4, Y(yv) + 3, 100 * yv);
  }
  // Pareto front of the feasible designs: lower objective and higher accuracy.
  std::vector<Point> feas;
  for (const Point& p : pts)
    if (p.feasible) feas.push_back(p);
  std::sort(feas.begin(), feas.end(), [](const Point& a, const Point& c) {
    return a.obj < c.obj || (a.obj == c.obj && a.acc > c.acc);
  });
  std::string front;
  double best = -1;
  for (const Point& p : feas)
    if (p.acc > best) {
      best = p.acc;
      front += fmt::format("{:.1f},{:.1f} ", X(p.obj), Y(p.acc));
    }
  if (!front.empty())
    o += fmt::format("<polyline fill=\"none\" stroke=\"#54a24b\" stroke-width=\"1.5\" "
                     "points=\"{}\"/>\n", front);
  for (const Point& p : pts) {
    const double x = X(p.obj), y = Y(p.acc);
    if (p.feasible)
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"#54a24b\"><title>epoch "
                       "{}: feasible</title></circle>\n", x, y, p.epoch);
    else
      o += fmt::format("<path d=\"M{:.1f},{:.1f}l8,8m0,-8l-8,8\" stroke=\"#e45756\" "
                       "stroke-width=\"2\"><title>epoch {}: infeasible</title></path>\n",
                       x - 4, y - 4, p.epoch);
  }
  o += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\" "
                   "stroke-dasharray=\"3 3\"/><text x=\"{:.1f}\" y=\"{}\" font-size=\"10\">chosen"
                   "</text>\n", X(chosen_obj), X(chosen_obj), t, t + ph, X(chosen_obj) + 3, t + ph - 6);
  o += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#54a24b\"/><text x=\"{}\" y=\"{}\" "
                   "font-size=\"11\">feasible</text><path d=\"M{},{}l8,8m0,-8l-8,8\" "
                   "stroke=\"#e45756\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\" "
                   "font-size=\"11\">infeasible</text>\n",
                   l + 12, t + 12, l + 20, t + 16, l + 80, t + 8, l + 92, t + 16);
  return o + "</svg>\n";
}

json build_report(const std::string& dir, const json& stage_seconds, const Spec& spec) {
  const json sr = read_json(dir + "/search/search_report.json");
  const json qr = read_json(dir + "/quant/quant_report.json");
  const json sim = read_json(dir + "/sim/sim_report.json");
  const Network net = load_network(dir + "/search/network.json");
  const Accelerator acc = load_accelerator(dir + "/search/accelerator.json");
  const NetworkCost cost = network_cost(net, acc);

  // Layers: the model's cost and the RTL's measurement side by side.
  json layers = json::array(), host_ops = json::array();
  bool exact = true, cycles_equal = true;
  Energy eb;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const LayerCost& c = cost.layers[i];
    const json& s = sim.at("layers").at(i);
    const bool match = s.value("outputs_match", false);
    const long long rc = s.at("rtl_cycles").get<long long>();
    exact &= match;
    cycles_equal &= rc == c.cycles;
    if (l.host()) host_ops.push_back(l.name);
    eb.mac += c.energy.mac, eb.dram += c.energy.dram, eb.ifmap += c.energy.ifmap;
    eb.weight += c.energy.weight, eb.acc += c.energy.acc, eb.param += c.energy.param;
    eb.spad += c.energy.spad;
    layers.push_back({{"name", l.name}, {"op", op_name(l.op)}, {"host", l.host()},
                      {"shape", fmt::format("{}x{}x{} -> {}x{}x{}", l.in_c, l.in_h, l.in_w,
                                            l.out_c, l.out_h, l.out_w)},
                      {"model_cycles", c.cycles}, {"rtl_cycles", rc}, {"outputs_match", match},
                      {"utilization", c.utilization}, {"energy_uj", c.energy.total() * 1e-6},
                      {"macs", l.macs()}});
  }
  const json& tot = sim.at("total");
  const double rtl_lat = tot.at("rtl_latency_ms").get<double>();
  // The rtl stage's synthesis (hdx flow --synth), when it ran.
  const std::string synth_path = dir + "/rtl/synth/report.json";
  const json syn = fs::exists(synth_path) ? read_json(synth_path) : json(nullptr);

  // Each constraint is judged by the most physical value there is: synthesis for the area,
  // the RTL's cycles and events for latency, throughput and energy, else the model.
  json constraints = json::array();
  bool all_met = true;
  auto judge = [&](const std::string& metric, const std::string& bound, double lim,
                   const json& model, const json& rtl, const json& synth, bool model_met) {
    const json& v = !synth.is_null() ? synth : !rtl.is_null() ? rtl : model;
    const bool met = v.is_null() ? model_met
                                 : bound == "max" ? v.get<double>() <= lim : v.get<double>() >= lim;
    all_met &= met;
    constraints.push_back({{"metric", metric}, {"bound", bound}, {"limit", lim},
                           {"value", model}, {"rtl_value", rtl}, {"synth_value", synth},
                           {"judged_by", !synth.is_null() ? "synthesis"
                                         : !rtl.is_null() ? "rtl" : "model"},
                           {"met", met}});
  };
  for (const auto& c : sr.at("constraints")) {
    const std::string m = c.at("metric").get<std::string>();
    json rtl = nullptr, synth = nullptr;
    if (m == "latency_ms") rtl = rtl_lat;
    else if (m == "energy_uj") rtl = tot.at("rtl_energy_uj");
    else if (m == "fps") rtl = rtl_lat > 0 ? json(1000 / rtl_lat) : json(nullptr);
    else if (m == "area_mm2" && !syn.is_null()) synth = syn.at("area_um2").get<double>() * 1e-6;
    judge(m, c.at("bound").get<std::string>(), c.at("limit").get<double>(), c.at("value"), rtl, synth,
          c.at("met").get<bool>());
  }
  // With synthesis, the clock is a constraint too: the standard cells' Fmax from static
  // timing, and the slowest SRAM macro's access + setup time.
  json synthesis = nullptr;
  if (!syn.is_null()) {
    const json& t = syn.at("timing");
    const double fmax = std::min(t.at("fmax_mhz").get<double>(),
                                 1000 / (t.at("sram_max_access_ns").get<double>() +
                                         t.at("sram_max_setup_ns").get<double>()));
    judge("fmax_mhz", "min", acc.clock_mhz, nullptr, nullptr, fmax, false);
    synthesis = {{"library", syn.at("library")}, {"liberty", syn.at("liberty")},
                 {"sram_lib", syn.at("sram_lib")}, {"area_mm2", syn.at("area_um2").get<double>() * 1e-6},
                 {"std_cell_area_mm2", syn.at("std_cell_area_um2").get<double>() * 1e-6},
                 {"sram_area_mm2", syn.at("sram_area_um2").get<double>() * 1e-6},
                 {"model_area_mm2", cost.area_mm2}, {"cells", syn.at("cells")},
                 {"flip_flops", syn.at("flip_flops")}, {"clock_mhz", acc.clock_mhz},
                 {"fmax_mhz", fmax}, {"std_cell_fmax_mhz", t.at("fmax_mhz")},
                 {"worst_slack_ns", t.at("worst_slack_ns")},
                 {"startpoint", t.value("startpoint", "")}, {"endpoint", t.value("endpoint", "")},
                 {"violations", t.value("violations", json(nullptr))},
                 {"sram_max_access_ns", t.at("sram_max_access_ns")},
                 {"sram_max_setup_ns", t.at("sram_max_setup_ns")},
                 {"rtl_latency_ms_at_fmax",
                  tot.at("rtl_cycles").get<double>() / std::min(fmax, acc.clock_mhz) * 1e-3}};
    // The model's components against the synthesis kinds they cover (docs/costmodel.md).
    const Area& a = cost.area;
    const std::vector<std::tuple<std::string, double, std::vector<std::string>>> groups = {
        {"pe_array", a.pe_array + a.spad, {"pe_array"}},
        {"ifmap_buffer", a.ifmap, {"ifmap_buffer"}},
        {"weight_buffer", a.weight, {"weight_buffer"}},
        {"accumulator", a.acc, {"accumulator"}},
        {"output_stage", a.output_stage, {"output_stage"}},
        {"control", a.control + a.param,
         {"control", "compute_control", "load_engine", "store_engine"}}};
    json by = json::object();
    for (const auto& [g, model_um2, kinds] : groups) {
      double s = 0;
      for (const auto& k : kinds)
        if (syn.at("by_kind").contains(k)) s += syn.at("by_kind").at(k).at("area_um2").get<double>();
      by[g] = {{"model_mm2", model_um2 * 1e-6}, {"synthesis_mm2", s * 1e-6}};
    }
    synthesis["area_by_group"] = by;
  }
  const double agreement = sim.value("rtl_agreement", 0.0);
  const bool pass = exact && cycles_equal && agreement == 1.0 && all_met && sim.at("all_match") == true;
  // What failed, in one line (the flow prints it).
  std::string failures;
  auto fail = [&](const std::string& what) { failures += (failures.empty() ? "" : "; ") + what; };
  if (!exact || sim.at("all_match") != true) fail("an RTL layer's outputs differ from the reference");
  if (!cycles_equal) fail("RTL cycles differ from the model's");
  if (agreement != 1.0) fail(fmt::format("the RTL classifies {} of the images as the reference", pct(agreement)));
  for (const auto& c : constraints)
    if (!c.at("met").get<bool>()) {
      const std::string by = c.at("judged_by").get<std::string>();
      const json& v = c.at(by == "synthesis" ? "synth_value" : by == "rtl" ? "rtl_value" : "value");
      fail(fmt::format("{} {} by {} (limit {} {:g})", c.at("metric").get<std::string>(),
                       v.is_null() ? std::string("unknown") : num(v.get<double>()), by,
                       c.at("bound") == "max" ? "<=" : ">=", c.at("limit").get<double>()));
    }
  const double um2 = 1e-6;
  const json energy_breakdown = {{"mac", eb.mac * 1e-6}, {"dram", eb.dram * 1e-6},
                                 {"ifmap_buffer", eb.ifmap * 1e-6},
                                 {"weight_buffer", eb.weight * 1e-6},
                                 {"accumulator_buffer", eb.acc * 1e-6},
                                 {"params", eb.param * 1e-6}, {"scratchpads", eb.spad * 1e-6}};
  const Area& a = cost.area;
  const json area_breakdown = {{"pe_array", a.pe_array * um2}, {"scratchpads", a.spad * um2},
                               {"ifmap_buffer", a.ifmap * um2}, {"weight_buffer", a.weight * um2},
                               {"accumulator_buffer", a.acc * um2}, {"params", a.param * um2},
                               {"output_stage", a.output_stage * um2}, {"control", a.control * um2}};
  json rep = {
      {"spec", spec.name},
      {"status", pass ? "pass" : "fail"},
      {"failures", failures},
      {"network", {{"name", net.name}, {"choice", sr.at("design").at("choice")},
                   {"layers", net.layers.size()}, {"macs", cost.macs}}},
      {"accelerator", accelerator_to_json(acc)},
      {"accuracy", {{"float", qr.at("accuracy").at("float")}, {"int8", qr.at("accuracy").at("int8")},
                    {"test_images", qr.at("test_images")}, {"rtl", sim.at("accuracy").at("rtl")},
                    {"rtl_images", sim.at("images").size()}}},
      {"rtl_agreement", agreement},
      {"constraints", constraints},
      {"objective", sr.at("objective")},
      {"layers", layers},
      {"host_ops", host_ops},
      {"totals", {{"model_cycles", cost.cycles}, {"rtl_cycles", tot.at("rtl_cycles")},
                  {"model_latency_ms", cost.latency_us * 1e-3}, {"rtl_latency_ms", rtl_lat},
                  {"model_energy_uj", cost.energy_uj}, {"rtl_energy_uj", tot.at("rtl_energy_uj")},
                  {"area_mm2", cost.area_mm2}, {"seconds_per_image_on_rtl", sim.at("seconds_per_image")}}},
      {"energy_breakdown_uj", energy_breakdown},
      {"area_breakdown_mm2", area_breakdown},
      {"synthesis", synthesis},
      {"checks", {{"outputs_bit_exact", exact}, {"rtl_cycles_equal_model", cycles_equal},
                  {"rtl_agrees_with_reference", agreement == 1.0}, {"constraints_met", all_met}}},
      {"stage_seconds", stage_seconds}};

  // Plots.
  fs::create_directories(dir + "/plots");
  std::vector<std::pair<std::string, double>> ebars, abars;
  for (const auto& [k, v] : energy_breakdown.items()) ebars.emplace_back(k, v.get<double>());
  for (const auto& [k, v] : area_breakdown.items()) abars.emplace_back(k, v.get<double>());
  const std::string obj = sr.at("objective").at("metric").get<std::string>();
  const std::string obj_col = obj == "latency" ? "latency_ms"
                              : obj == "edp"   ? "edp"
                              : obj == "area"  ? "area_mm2"
                                               : "energy_uj";
  const json& design = sr.at("design");
  const double chosen = obj_col == "edp" ? design.at("latency_ms").get<double>() *
                                               design.at("energy_uj").get<double>()
                                         : design.at(obj_col).get<double>();
  const std::vector<std::pair<std::string, std::string>> plots = {
      {"trajectory.svg", read_file(dir + "/search/trajectory.svg")},
      {"cycles.svg", svg_cycles(layers)},
      {"energy.svg", svg_hbars("Energy by component (cost model)", "uJ", ebars)},
      {"area.svg", svg_hbars("Area by component (cost model)", "mm2", abars)},
      {"pareto.svg", svg_pareto(search_points(dir + "/search/history.csv", obj_col),
                                obj_col, chosen)}};
  for (const auto& [f, svg] : plots) write_file_atomic(dir + "/plots/" + f, svg);

  // Markdown and HTML from the same rows.
  std::vector<std::vector<std::string>> crow, lrow;
  auto cell = [](const json& v) { return v.is_null() ? std::string("-") : num(v.get<double>()); };
  for (const auto& c : constraints)
    crow.push_back({c.at("metric").get<std::string>(),
                    fmt::format("{} {:g}", c.at("bound") == "max" ? "<=" : ">=", c.at("limit").get<double>()),
                    c.at("metric") == "fmax_mhz" ? "-"
                    : c.at("value").is_null()    ? "does not map"
                                                 : num(c.at("value").get<double>()),
                    cell(c.at("rtl_value")), cell(c.at("synth_value")),
                    c.at("judged_by").get<std::string>(), c.at("met").get<bool>() ? "met" : "MISSED"});
  for (const auto& l : layers)
    lrow.push_back({l.at("name").get<std::string>(),
                    l.at("op").get<std::string>() + (l.at("host").get<bool>() ? " (host)" : ""),
                    l.at("shape").get<std::string>(), std::to_string(l.at("model_cycles").get<long long>()),
                    std::to_string(l.at("rtl_cycles").get<long long>()),
                    l.at("host").get<bool>() ? "-" : pct(l.at("utilization").get<double>()),
                    num(l.at("energy_uj").get<double>()),
                    l.at("outputs_match").get<bool>() ? "exact" : "DIFFER"});
  const std::vector<std::string> chead = {"constraint", "limit", "model", "RTL", "synthesis",
                                          "judged by", "status"};
  // Synthesis against the model, when the rtl stage synthesized.
  std::vector<std::vector<std::string>> srow;
  if (!synthesis.is_null()) {
    const json& y = synthesis;
    auto err = [](double model, double synth) {
      return synth > 0 ? fmt::format("{:+.1f}%", 100 * (model / synth - 1)) : std::string("-");
    };
    srow.push_back({"area, total (mm2)", num(y.at("model_area_mm2").get<double>()),
                    num(y.at("area_mm2").get<double>()),
                    err(y.at("model_area_mm2").get<double>(), y.at("area_mm2").get<double>())});
    for (const auto& [g, v] : y.at("area_by_group").items())
      srow.push_back({"  " + g, num(v.at("model_mm2").get<double>()),
                      num(v.at("synthesis_mm2").get<double>()),
                      err(v.at("model_mm2").get<double>(), v.at("synthesis_mm2").get<double>())});
    srow.push_back({"Fmax (MHz)", fmt::format("{:g} (clock)", y.at("clock_mhz").get<double>()),
                    fmt::format("{:.0f}", y.at("fmax_mhz").get<double>()),
                    fmt::format("worst slack {:.3f} ns, {} -> {}", y.at("worst_slack_ns").get<double>(),
                                y.at("startpoint").get<std::string>(), y.at("endpoint").get<std::string>())});
    // The registers that miss the clock worst: where to pipeline.
    if (y.at("violations").is_object())
      for (const auto& r : y.at("violations").at("worst_registers"))
        srow.push_back({"  misses the clock: " + r.at("register").get<std::string>(), "-",
                        fmt::format("{:.3f} ns", r.at("worst_slack_ns").get<double>()),
                        fmt::format("{} bits", r.at("endpoints").get<long long>())});
    srow.push_back({"RTL latency (ms)", num(rtl_lat), num(y.at("rtl_latency_ms_at_fmax").get<double>()),
                    "at the clock / at min(clock, Fmax)"});
  }
  const std::vector<std::string> shead = {"", "model", "synthesis", "model error / note"};
  const std::string synth_note =
      synthesis.is_null()
          ? ""
          : fmt::format("Yosys mapped to {} ({} cells, {} flip-flops; {} mm2 standard cells + {} "
                        "mm2 SRAM macros priced by {}); OpenSTA timed it. Area and clock were "
                        "judged by these figures.",
                        synthesis.at("library").get<std::string>(), synthesis.at("cells").get<long long>(),
                        synthesis.at("flip_flops").get<long long>(),
                        num(synthesis.at("std_cell_area_mm2").get<double>()),
                        num(synthesis.at("sram_area_mm2").get<double>()),
                        synthesis.at("sram_lib").get<std::string>());
  const std::vector<std::string> lhead = {"layer", "op", "shape", "model cycles", "RTL cycles",
                                          "utilization", "energy uJ", "outputs"};
  const json& A = rep["accuracy"];
  const std::vector<std::vector<std::string>> arow = {
      {"float", pct(A.at("float").get<double>()), fmt::format("{} test images", A.at("test_images").get<int>())},
      {"int8 (integer reference)", pct(A.at("int8").get<double>()), fmt::format("{} test images", A.at("test_images").get<int>())},
      {"on the RTL", pct(A.at("rtl").get<double>()), fmt::format("{} test images, class equal to the reference on {}", A.at("rtl_images").get<size_t>(), pct(agreement))}};
  const std::vector<std::vector<std::string>> hrow = {
      {"dataflow", acc.dataflow == Dataflow::WS ? "ws (weight-stationary systolic)" : "rs (row-stationary, Eyeriss-style)"},
      {"PE array", fmt::format("{} x {}", acc.pe_rows, acc.pe_cols)},
      {"buffers (ifmap / weight / ofmap)", fmt::format("{} / {} / {} KiB", acc.ifmap_bytes() / 1024, acc.weight_bytes() / 1024, acc.ofmap_bytes() / 1024)},
      {"DRAM port", fmt::format("{} B/cycle, {} cycles latency", acc.dram_bytes_per_cycle, acc.dram_latency_cycles)},
      {"clock", fmt::format("{:g} MHz", acc.clock_mhz)},
      {"latency (model / RTL)", fmt::format("{} / {} ms", num(cost.latency_us * 1e-3), num(rtl_lat))},
      {"energy per inference (model / RTL)", fmt::format("{} / {} uJ", num(cost.energy_uj), num(tot.at("rtl_energy_uj").get<double>()))},
      {"area (model" + std::string(synthesis.is_null() ? ")" : " / synthesis)"),
       synthesis.is_null() ? fmt::format("{} mm2", num(cost.area_mm2))
                           : fmt::format("{} / {} mm2", num(cost.area_mm2),
                                         num(synthesis.at("area_mm2").get<double>()))}};
  std::vector<std::vector<std::string>> trow;
  for (const char* k : {"search", "quantize", "rtl", "sim"})  // in flow order
    if (stage_seconds.contains(k))
      trow.push_back({k, fmt::format("{:.1f} s", stage_seconds[k].get<double>())});

  auto md_table = [](const std::vector<std::string>& h, const std::vector<std::vector<std::string>>& rows) {
    std::string o = "|";
    for (const auto& c : h) o += " " + c + " |";
    o += "\n|";
    for (size_t i = 0; i < h.size(); ++i) o += "---|";
    o += "\n";
    for (const auto& r : rows) {
      o += "|";
      for (const auto& c : r) o += " " + c + " |";
      o += "\n";
    }
    return o + "\n";
  };
  auto html_table = [](const std::vector<std::string>& h, const std::vector<std::vector<std::string>>& rows) {
    std::string o = "<table><tr>";
    for (const auto& c : h) o += "<th>" + xml_escape(c) + "</th>";
    o += "</tr>\n";
    for (const auto& r : rows) {
      o += "<tr>";
      for (const auto& c : r) {
        const bool bad = c == "MISSED" || c == "DIFFER";
        o += (bad ? "<td class=\"bad\">" : "<td>") + xml_escape(c) + "</td>";
      }
      o += "</tr>\n";
    }
    return o + "</table>\n";
  };
  const std::string verdict =
      pass ? fmt::format("PASS: every layer bit-exact on the RTL, RTL cycles equal to the "
                         "model, the RTL classifies as the int8 reference, every constraint "
                         "met{}", synthesis.is_null() ? "" : " (area and clock by synthesis)")
           : "FAIL: " + rep.at("failures").get<std::string>();
  const std::string host_note =
      host_ops.empty() ? "none"
                       : fmt::format("{} ({} operation{}, 0 accelerator cycles, run on the host "
                                     "in the same integer arithmetic)",
                                     [&] {
                                       std::string s;
                                       for (const auto& h : host_ops)
                                         s += (s.empty() ? "" : ", ") + h.get<std::string>();
                                       return s;
                                     }(),
                                     host_ops.size(), host_ops.size() == 1 ? "" : "s");
  const std::string title = fmt::format("hdx flow report: {}", spec.name);
  std::string md = fmt::format("# {}\n\n**{}**\n\nNetwork `{}`: {}; {} layers, {} MACs per "
                               "image. Host operations: {}.\n\n",
                               title, verdict, net.name, sr.at("design").at("choice").get<std::string>(),
                               net.layers.size(), cost.macs, host_note);
  md += "## Constraints\n\n" + md_table(chead, crow);
  md += "## Accuracy\n\n" + md_table({"", "accuracy", "on"}, arow);
  md += "## Accelerator\n\n" + md_table({"", ""}, hrow);
  if (!srow.empty()) md += "## Synthesis\n\n" + synth_note + "\n\n" + md_table(shead, srow);
  md += "## Layers: model vs RTL\n\n" + md_table(lhead, lrow);
  md += "## Stage times\n\n" + md_table({"stage", "wall time"}, trow);
  md += "## Plots\n\n";
  for (const auto& [f, svg] : plots) md += fmt::format("![{}](plots/{})\n\n", f, f);

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n"
      "<style>body{{font-family:sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;"
      "color:#222}} table{{border-collapse:collapse;margin:8px 0 20px}} td,th{{border:1px solid "
      "#ccc;padding:4px 8px;text-align:left;font-size:14px}} th{{background:#f0f0f0}} "
      ".bad{{color:#b00;font-weight:bold}} .verdict{{padding:10px;border-radius:4px;background:{}}}"
      " svg{{max-width:100%;height:auto;display:block;margin:8px 0 24px}}</style></head><body>\n"
      "<h1>{}</h1>\n<p class=\"verdict\">{}</p>\n<p>Network <code>{}</code>: {}; {} layers, {} "
      "MACs per image. Host operations: {}.</p>\n",
      xml_escape(title), pass ? "#e6f4e6" : "#fbe3e3", xml_escape(title), xml_escape(verdict), xml_escape(net.name),
      xml_escape(sr.at("design").at("choice").get<std::string>()), net.layers.size(), cost.macs,
      xml_escape(host_note));
  html += "<h2>Constraints</h2>\n" + html_table(chead, crow);
  html += "<h2>Accuracy</h2>\n" + html_table({"", "accuracy", "on"}, arow);
  html += "<h2>Accelerator</h2>\n" + html_table({"", ""}, hrow);
  if (!srow.empty())
    html += "<h2>Synthesis</h2>\n<p>" + xml_escape(synth_note) + "</p>\n" + html_table(shead, srow);
  html += "<h2>Layers: model vs RTL</h2>\n" + html_table(lhead, lrow);
  html += "<h2>Plots</h2>\n";
  for (const auto& [f, svg] : plots) {
    const size_t at = svg.find("<svg");  // inline, without any XML prolog
    html += svg.substr(at == std::string::npos ? 0 : at);
  }
  html += "<h2>Stage times</h2>\n" + html_table({"stage", "wall time"}, trow);
  html += "</body></html>\n";

  write_file_atomic(dir + "/report.json", rep.dump(2) + "\n");
  write_file_atomic(dir + "/report.md", md);
  write_file_atomic(dir + "/report.html", html);
  return rep;
}

}  // namespace

json write_flow_report(const std::string& dir, const json& stage_seconds, const Spec& spec) {
  try {
    return build_report(dir, stage_seconds, spec);
  } catch (const json::exception& e) {
    throw IoError(53, fmt::format("{}: a stage report lacks what the report needs ({}); it was "
                                  "written by another hdx version or by hand: run the flow again "
                                  "from quantize", dir, e.what()), 2);
  }
}

}  // namespace hdx::cli
