#include "plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hdx {

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

namespace {

// A "nice" tick step for a range.
double tick_step(double range) {
  const double raw = range / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

}  // namespace

std::string svg_panel(const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<PlotSeries>& series,
                      bool has_limit, double limit, int width, int height, int y_offset) {
  const double l = 70, r = 20, t = 30, b = 45;
  const double pw = width - l - r, ph = height - t - b;
  double lo = has_limit ? limit : INFINITY, hi = has_limit ? limit : -INFINITY;
  std::size_t n = 1;
  for (const PlotSeries& s : series) {
    for (double v : s.y)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    n = std::max(n, s.y.size());
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) hi = lo + std::max(1e-6, std::fabs(lo) * 0.1);
  const double pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  auto X = [&](double i) { return l + pw * (n > 1 ? i / static_cast<double>(n - 1) : 0.5); };
  auto Y = [&](double v) { return t + ph * (1 - (v - lo) / (hi - lo)); };
  std::string o = fmt::format("<g transform=\"translate(0,{})\">\n", y_offset);
  o += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", l,
                   xml_escape(title));
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                   "stroke=\"#888\"/>\n", l, t, pw, ph);
  const double step = tick_step(hi - lo);
  for (double v = std::ceil(lo / step) * step; v <= hi; v += step) {
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>"
                     "<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{:g}</text>\n",
                     l, l + pw, Y(v), Y(v), l - 5, Y(v) + 4, v);
  }
  const double xs = std::max(1.0, tick_step(static_cast<double>(n - 1 > 0 ? n - 1 : 1)));
  for (double i = 0; i <= static_cast<double>(n - 1); i += std::ceil(xs))
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:g}"
                     "</text>\n", X(i), t + ph + 15, i);
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
                   l + pw / 2, t + ph + 35, xml_escape(x_label));
  o += fmt::format("<text x=\"15\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" "
                   "transform=\"rotate(-90 15 {})\">{}</text>\n", t + ph / 2, t + ph / 2,
                   xml_escape(y_label));
  if (has_limit)
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
                     "stroke-dasharray=\"6 4\"/>\n", l, l + pw, Y(limit), Y(limit));
  double lx = l + 10;
  for (const PlotSeries& s : series) {
    std::string pts;
    for (std::size_t i = 0; i < s.y.size(); ++i)
      if (std::isfinite(s.y[i])) pts += fmt::format("{:.1f},{:.1f} ", X(static_cast<double>(i)), Y(s.y[i]));
    o += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{} points=\"{}\"/>\n",
                     s.color, s.dashed ? " stroke-dasharray=\"4 3\"" : "", pts);
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>"
                     "<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n",
                     lx, lx + 18, t + 12, t + 12, s.color, lx + 22, t + 16, xml_escape(s.label));
    lx += 30 + 6.5 * static_cast<double>(s.label.size());
  }
  if (has_limit)
    o += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#d62728\" "
                     "stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">limit {:g}"
                     "</text>\n", lx, lx + 18, t + 12, t + 12, lx + 22, t + 16, limit);
  return o + "</g>\n";
}

std::string svg_document(const std::vector<std::string>& panels, int width, int height) {
  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height, width, height);
  for (const std::string& p : panels) o += p;
  return o + "</svg>\n";
}

}  // namespace hdx
