#include "input.h"

#include <fmt/format.h>

#include "errors.h"
#include "golden.h"

namespace hdx {

void check_image_shape(const Network& n, const Images& im) {
  if (im.c != n.in_c || im.h != n.in_h || im.w != n.in_w)
    throw ConfigError(22, fmt::format("network '{}' takes {}x{}x{} inputs but the images are "
                                      "{}x{}x{} (channels x height x width); use the data set the "
                                      "network was searched on", n.name, n.in_c, n.in_h, n.in_w,
                                      im.c, im.h, im.w));
}

std::vector<int8_t> image_input(const Images& im, int i) {
  const size_t per = static_cast<size_t>(im.c) * im.h * im.w;
  return quantize_pixels(im.pixels.data() + static_cast<size_t>(i) * per, im.c, im.h, im.w);
}

}  // namespace hdx
