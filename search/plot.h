// SVG line plots for the search reports (no dependencies).
#pragma once
#include <string>
#include <vector>

namespace hdx {

struct PlotSeries {
  std::string label, color;
  std::vector<double> y;  // one value per x = 0, 1, ...
  bool dashed = false;
};

// Text with <, > and & escaped for SVG and HTML.
std::string xml_escape(const std::string& s);

// One panel per call: the series against x, with a horizontal limit line when has_limit.
std::string svg_panel(const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<PlotSeries>& series,
                      bool has_limit, double limit, int width, int height, int y_offset);
// Wraps panels (stacked vertically) into a document of the given total height.
std::string svg_document(const std::vector<std::string>& panels, int width, int height);

}  // namespace hdx
