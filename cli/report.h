// The flow's final report: DIR/report.json (stable keys), report.md and report.html with SVG
// plots, made from the files the earlier stages wrote.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "spec.h"

namespace hdx::cli {

// Reads DIR/search, DIR/quant and DIR/sim; writes DIR/report.json, DIR/report.md,
// DIR/report.html and DIR/plots/*.svg. `stage_seconds` holds the wall time of each stage run
// so far. Returns report.json's content. Throws IoError naming a missing or malformed input.
nlohmann::json write_flow_report(const std::string& dir, const nlohmann::json& stage_seconds,
                                 const Spec& spec);

}  // namespace hdx::cli
