#include "common/model/dit_shape.h"

#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {

DitShape dit_shape(const DitConfig& cfg) {
  DitShape s;
  const std::string& size = cfg.size();
  if (size == "S") s = {12, 384, 6};
  else if (size == "B") s = {12, 768, 12};
  else if (size == "L") s = {24, 1024, 16};
  else if (size == "XL") s = {28, 1152, 16};
  else throw BadInput("model.dit.size must be one of S, B, L, XL, got '" + clip(size, 40) + "'");
  if (cfg.depth() > 0) s.depth = cfg.depth();
  if (cfg.width() > 0) s.width = cfg.width();
  if (cfg.heads() > 0) s.heads = cfg.heads();
  s.mlp_hidden = static_cast<int64_t>(static_cast<double>(s.width) * cfg.mlp_ratio());
  return s;
}

}  // namespace lockstep
