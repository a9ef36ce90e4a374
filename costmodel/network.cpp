#include "network.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "json_util.h"

namespace hdx {

using nlohmann::json;

const char* op_name(Op op) {
  switch (op) {
    case Op::Conv:
      return "conv";
    case Op::Fc:
      return "fc";
    case Op::Add:
      return "add";
    case Op::AvgPool:
      return "avgpool";
  }
  return "?";
}

namespace {

const std::vector<std::string> kTopKeys = {"name", "input", "layers"};
const std::vector<std::string> kInputKeys = {"channels", "height", "width"};
const std::vector<std::string> kConvKeys = {"name",   "op",      "out_channels", "kernel", "stride",
                                            "padding", "groups", "relu",         "input"};
const std::vector<std::string> kFcKeys = {"name", "op", "out_features", "relu", "input"};
const std::vector<std::string> kAddKeys = {"name", "op", "inputs", "relu"};
const std::vector<std::string> kPoolKeys = {"name", "op", "input"};
constexpr int kMaxNameLength = 64;

bool legal_layer_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int floor_div(int a, int b) {
  int q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The shape a layer reads.
struct Shape {
  int c, h, w;
};

}  // namespace

Network network_from_json(const json& j) {
  ObjectReader r(j, "");
  r.allow_only(kTopKeys);
  Network n;
  n.name = r.get_string("name");
  {
    ObjectReader in = r.get_object("input");
    in.allow_only(kInputKeys);
    n.in_c = in.get_int("channels", 1, 4096);
    n.in_h = in.get_int("height", 1, 4096);
    n.in_w = in.get_int("width", 1, 4096);
  }

  const json& layers = r.get_array("layers", true);
  const std::string layers_path = r.path_of("layers");
  std::map<std::string, std::size_t> index;  // name -> position, earlier layers only
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string lp = json_path(layers_path, i);
    ObjectReader lr(layers[i], lp);
    const std::string op = lr.get_enum("op", {"conv", "fc", "add", "avgpool"});
    const bool is_conv = op == "conv";
    lr.allow_only(is_conv ? kConvKeys : op == "fc" ? kFcKeys : op == "add" ? kAddKeys : kPoolKeys);

    Layer l;
    l.op = is_conv ? Op::Conv : op == "fc" ? Op::Fc : op == "add" ? Op::Add : Op::AvgPool;
    l.name = lr.get_string("name");
    if (!legal_layer_name(l.name)) {
      config_fail(config_code::kBadName, lr.path_of("name"),
                  fmt::format("must be 1 to {} characters from A-Z a-z 0-9 _ . -, got {}",
                              kMaxNameLength, json_brief(l.name)));
    }
    if (auto it = index.find(l.name); it != index.end()) {
      config_fail(config_code::kDuplicateName, lr.path_of("name"),
                  fmt::format("layer names must be unique, got \"{}\" which {} already uses",
                              l.name, json_path(layers_path, it->second)));
    }

    // The shape it reads: the named earlier layer, else the previous one, else the input.
    // Returns the named layer's output shape, or fails naming the path and the choices.
    auto resolve = [&](const std::string& path, const std::string& from) -> Shape {
      auto it = index.find(from);
      if (it == index.end()) {
        std::string why = "no layer has that name";
        if (from == l.name) {
          why = "a layer cannot read itself";
        } else {
          for (std::size_t k = i + 1; k < layers.size(); ++k) {
            if (layers[k].is_object() && layers[k].value("name", json()) == from) {
              why = "that layer comes later";
              break;
            }
          }
        }
        std::string earlier;
        for (std::size_t k = 0; k < i; ++k) earlier += (k ? ", " : "") + n.layers[k].name;
        config_fail(config_code::kBadInputRef, path,
                    fmt::format("must name an earlier layer ({}), got \"{}\": {}",
                                i == 0 ? "there is none" : "one of: " + earlier, from, why));
      }
      const Layer& s = n.layers[it->second];
      return {s.out_c, s.out_h, s.out_w};
    };
    Shape src{n.in_c, n.in_h, n.in_w};
    if (op == "add") {
      const json& ins = lr.get_array("inputs", true);
      const std::string ip = lr.path_of("inputs");
      if (ins.size() != 2) {
        config_fail(config_code::kOutOfRange, ip,
                    fmt::format("must name exactly 2 earlier layers, got {}", ins.size()));
      }
      Shape sh[2];
      std::string names[2];
      for (std::size_t k = 0; k < 2; ++k) {
        const std::string kp = json_path(ip, k);
        if (!ins[k].is_string()) {
          config_fail(config_code::kWrongType, kp,
                      fmt::format("must be a layer name (string), got {}", json_brief(ins[k])));
        }
        names[k] = ins[k].get<std::string>();
        sh[k] = resolve(kp, names[k]);
      }
      if (sh[0].c != sh[1].c || sh[0].h != sh[1].h || sh[0].w != sh[1].w) {
        config_fail(config_code::kShapeMismatch, ip,
                    fmt::format("both operands of add must have one shape, got \"{}\" {}x{}x{} "
                                "and \"{}\" {}x{}x{} (channels x height x width)",
                                names[0], sh[0].c, sh[0].h, sh[0].w, names[1], sh[1].c, sh[1].h,
                                sh[1].w));
      }
      l.input = names[0];
      l.input2 = names[1];
      src = sh[0];
    } else if (lr.has("input")) {
      const std::string from = lr.get_string("input");
      src = resolve(lr.path_of("input"), from);
      l.input = from;
    } else if (i > 0) {
      const Layer& s = n.layers.back();
      l.input = s.name;
      src = {s.out_c, s.out_h, s.out_w};
    }
    l.in_c = src.c;
    l.in_h = src.h;
    l.in_w = src.w;
    l.relu = l.op != Op::AvgPool && lr.get_bool("relu", false);

    if (l.host()) {
      // add keeps the shape; avgpool averages each channel over the whole map.
      l.out_c = l.in_c;
      l.out_h = l.op == Op::Add ? l.in_h : 1;
      l.out_w = l.op == Op::Add ? l.in_w : 1;
    } else if (is_conv) {
      l.out_c = lr.get_int("out_channels", 1, 4096);
      const int kernel = lr.get_int("kernel", 1, 11);
      l.kh = l.kw = kernel;
      l.stride = lr.get_int("stride", 1, 4, 1);
      l.pad = lr.get_int("padding", 0, 7, 0);
      l.groups = lr.get_int("groups", 1, 4096, 1);
      if (l.in_c % l.groups != 0 || l.out_c % l.groups != 0) {
        config_fail(config_code::kBadGroups, lr.path_of("groups"),
                    fmt::format("must divide in_channels ({}) and out_channels ({}), got {}", l.in_c,
                                l.out_c, l.groups));
      }
      l.out_h = floor_div(l.in_h + 2 * l.pad - l.kh, l.stride) + 1;
      l.out_w = floor_div(l.in_w + 2 * l.pad - l.kw, l.stride) + 1;
      if (l.out_h < 1 || l.out_w < 1) {
        config_fail(config_code::kBadOutputSize, lp,
                    fmt::format("output size must be at least 1x1, got {}x{} from input {}x{} with "
                                "kernel {}, padding {}, stride {}; the kernel may be at most "
                                "min(height, width) + 2*padding = {}",
                                l.out_h, l.out_w, l.in_h, l.in_w, kernel, l.pad, l.stride,
                                std::min(l.in_h, l.in_w) + 2 * l.pad));
      }
    } else {
      // Flattened input as one convolution whose kernel covers it all.
      l.out_c = lr.get_int("out_features", 1, 65536);
      l.kh = l.in_h;
      l.kw = l.in_w;
      l.stride = 1;
      l.pad = 0;
      l.groups = 1;
      l.out_h = l.out_w = 1;
    }
    index.emplace(l.name, i);
    n.layers.push_back(std::move(l));
  }
  return n;
}

Network load_network(const std::string& path) {
  return load_config_file(path, [](const json& j) { return network_from_json(j); });
}

json network_to_json(const Network& n) {
  json layers = json::array();
  for (std::size_t i = 0; i < n.layers.size(); ++i) {
    const Layer& l = n.layers[i];
    json o;
    o["name"] = l.name;
    o["op"] = op_name(l.op);
    if (l.op == Op::Conv) {
      o["out_channels"] = l.out_c;
      o["kernel"] = l.kh;
      o["stride"] = l.stride;
      o["padding"] = l.pad;
      o["groups"] = l.groups;
    } else if (l.op == Op::Fc) {
      o["out_features"] = l.out_c;
    }
    if (l.op != Op::AvgPool) o["relu"] = l.relu;
    // "input" only where the layer does not read the previous one (or the network input).
    const std::string previous = i == 0 ? "" : n.layers[i - 1].name;
    if (l.op == Op::Add) {
      o["inputs"] = {l.input, l.input2};
    } else if (!l.input.empty() && l.input != previous) {
      o["input"] = l.input;
    }
    layers.push_back(std::move(o));
  }
  return json{{"name", n.name},
              {"input", {{"channels", n.in_c}, {"height", n.in_h}, {"width", n.in_w}}},
              {"layers", std::move(layers)}};
}

int find_layer(const Network& n, const std::string& name) {
  for (size_t i = 0; i < n.layers.size(); ++i)
    if (n.layers[i].name == name) return static_cast<int>(i);
  return -1;
}

Network single_layer_network(const Layer& l) {
  Network n;
  n.name = l.name;
  n.in_c = l.in_c;
  n.in_h = l.in_h;
  n.in_w = l.in_w;
  Layer only = l;
  only.input.clear();
  only.input2.clear();
  n.layers.push_back(std::move(only));
  return n;
}

}  // namespace hdx
