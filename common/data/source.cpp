#include "common/data/source.h"

#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {

std::shared_ptr<const DataSource> make_source(const Config& cfg, const std::vector<int64_t>& item_shape) {
  if (cfg.source().name() != "data") return nullptr;
  constexpr uint64_t kSourceSeedSalt = 0x50C2CEull;
  std::shared_ptr<const DataSource> s = make_dataset(cfg.source().data(), cfg.seed() ^ kSourceSeedSalt);
  LS_CHECK_INPUT(s->item_shape() == item_shape, "source.data (" << cfg.source().data().name() << "): items of shape "
                                                    << shape_text(s->item_shape()) << ", the training data's are " << shape_text(item_shape));
  return s;
}

}  // namespace lockstep
