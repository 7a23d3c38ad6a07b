#include "common/config/config_diff.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

namespace lockstep {
namespace {

namespace pb = google::protobuf;

std::string value_text(const pb::Message& m, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = m.GetReflection();
  std::string out;
  if (!f->is_repeated()) {
    pb::TextFormat::PrintFieldValueToString(m, f, -1, &out);
    return out;
  }
  out = "[";
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    std::string v;
    pb::TextFormat::PrintFieldValueToString(m, f, i, &v);
    out += (i ? ", " : "") + v;
  }
  return out + "]";
}

void walk(const pb::Message& a, const pb::Message& b, const std::string& prefix, std::vector<FieldDiff>* out) {
  const pb::Descriptor* d = a.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
      walk(a.GetReflection()->GetMessage(a, f), b.GetReflection()->GetMessage(b, f), path, out);
      continue;
    }
    const std::string va = value_text(a, f), vb = value_text(b, f);
    if (va != vb) out->push_back({path, va, vb});
  }
}

}  // namespace

std::vector<FieldDiff> config_differences(const Config& before, const Config& after) {
  std::vector<FieldDiff> out;
  walk(before, after, "", &out);
  return out;
}

bool resume_may_change(const std::string& field) {
  static const char* const allowed[] = {"name", "train.steps", "train.log_every", "train.checkpoint_every",
                                        "train.eval_every", "train.eval_samples", "train.keep_last",
                                        "train.keep_every", "train.nonfinite", "train.sample_eval_every",
                                        "train.sample_eval_num", "train.sample_eval_classifier", "data.prefetch"};
  for (const char* a : allowed)
    if (field == a) return true;
  return field.rfind("sample.", 0) == 0 || field.rfind("engine.", 0) == 0;
}

}  // namespace lockstep
