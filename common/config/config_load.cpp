// Parsing config text with file:line:column messages, and printing the effective config.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <set>
#include <sstream>

#include "common/config/config.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {
namespace pb = google::protobuf;

namespace {

// Rewrites protobuf's parser messages into ones a user can act on. `line_text` is the offending line;
// `column` (0-based) may be moved to the start of the offending field.
std::string explain(const std::string& msg, const std::string& line_text, int* column) {
  // protobuf's words: Message type "lockstep.ModelConfig" has no field named "widht".
  const std::string head = "Message type \"", middle = "\" has no field named \"";
  const size_t t = msg.find(head), f = t == std::string::npos ? t : msg.find(middle, t + head.size());
  const size_t name_end = f == std::string::npos ? f : msg.find('"', f + middle.size());
  if (name_end != std::string::npos) {
    const std::string type = msg.substr(t + head.size(), f - t - head.size());
    const std::string name = msg.substr(f + middle.size(), name_end - f - middle.size());
    const size_t at = line_text.rfind(name, static_cast<size_t>(std::max(0, *column)));
    if (at != std::string::npos) *column = static_cast<int>(at);
    return "unknown field '" + clip(name) + "' in " + type.substr(type.rfind('.') + 1) + "; its fields are: " + field_names_of(type);
  }
  // A value error: name the field written before the value on this line ("name :" then spaces, up to the column).
  size_t end = static_cast<size_t>(std::max(0, std::min<int>(*column, static_cast<int>(line_text.size()))));
  while (end > 0 && is_space(line_text[end - 1])) --end;
  if (end > 0 && line_text[end - 1] == ':') {
    --end;
    while (end > 0 && is_space(line_text[end - 1])) --end;
    size_t begin = end;
    while (begin > 0 && is_word_char(line_text[begin - 1])) --begin;
    if (begin < end) return "field '" + clip(line_text.substr(begin, end - begin)) + "': " + clip(msg, 300);
  }
  return clip(msg, 300);
}

class Collector : public pb::io::ErrorCollector {
 public:
  Collector(std::string origin, const std::string& text) : origin_(std::move(origin)) {
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) lines_.push_back(l);
  }
  void AddError(int line, int column, const std::string& message) override {
    if (!first_.empty()) return;  // the first error is the one to fix; later ones are usually its echo
    const std::string text = line >= 0 && line < static_cast<int>(lines_.size()) ? lines_[line] : "";
    const std::string why = explain(message, text, &column);
    std::ostringstream os;
    os << origin_ << ":" << line + 1 << ":" << column + 1 << ": " << why;
    first_ = os.str();
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string origin_;
  std::vector<std::string> lines_;
  std::string first_;
};

// Finds where the field at `path` ("optim.lr") was written in the parsed text, as "line:column".
std::string locate(const pb::TextFormat::ParseInfoTree& tree, const std::string& path) {
  const pb::Descriptor* desc = Config::descriptor();
  const pb::TextFormat::ParseInfoTree* node = &tree;
  std::stringstream ss(path);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* f = desc ? desc->FindFieldByName(parts[i]) : nullptr;
    if (!f || !node) return "";
    if (i + 1 == parts.size()) {
      pb::TextFormat::ParseLocation loc = node->GetLocation(f, f->is_repeated() ? 0 : -1);
      if (loc.line < 0) return "";
      return std::to_string(loc.line + 1) + ":" + std::to_string(loc.column + 1);
    }
    if (f->type() != pb::FieldDescriptor::TYPE_MESSAGE) return "";
    node = node->GetTreeForNested(f, f->is_repeated() ? 0 : -1);
    desc = f->message_type();
  }
  return "";
}

// Fills every unset field with its default, so that printing shows the whole effective config.
void materialize_defaults(pb::Message* msg) {
  const pb::Descriptor* d = msg->GetDescriptor();
  const pb::Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || f->containing_oneof()) continue;
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: materialize_defaults(r->MutableMessage(msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(msg, f, r->GetInt32(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(msg, f, r->GetInt64(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(msg, f, r->GetUInt32(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(msg, f, r->GetUInt64(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(msg, f, r->GetDouble(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(msg, f, r->GetFloat(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(msg, f, r->GetBool(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(msg, f, r->GetEnum(*msg, f)); break;
      case pb::FieldDescriptor::CPPTYPE_STRING: r->SetString(msg, f, r->GetString(*msg, f)); break;
    }
  }
}

// Parses text into cfg; throws BadInput with origin:line:col on a syntax or type error.
void parse_into(const std::string& text, const std::string& origin, Config* cfg, pb::TextFormat::ParseInfoTree* tree) {
  Collector errors(origin, text);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (tree) parser.WriteLocationsTo(tree);
  if (!parser.ParseFromString(text, cfg)) {
    throw BadInput(errors.first().empty() ? origin + ": cannot parse config" : errors.first());
  }
}

// Throws one BadInput listing every validation issue with its source.
void check_valid(const Config& cfg, const std::string& origin, const pb::TextFormat::ParseInfoTree* tree,
                 const std::vector<Override>& overrides) {
  std::vector<ConfigIssue> issues = validate_config(cfg);
  if (issues.empty()) return;
  std::string msg;
  for (const ConfigIssue& issue : issues) {
    std::string where;
    for (const Override& o : overrides) {  // the last override of a field wins, so it is the one to name
      if (override_field(o.assignment) == issue.field) where = o.origin;
    }
    if (where.empty()) {
      std::string loc = tree ? locate(*tree, issue.field) : "";
      where = loc.empty() ? origin : origin + ":" + loc;
    }
    msg += (msg.empty() ? "" : "\n") + where + ": field '" + issue.field + "': " + issue.message;
  }
  throw BadInput(msg);
}

}  // namespace

std::vector<Override> set_overrides(const std::vector<std::string>& assignments) {
  std::vector<Override> out;
  for (const std::string& a : assignments) out.push_back({a, "--set " + a});
  return out;
}

std::string field_names_of(const std::string& full_type) {
  const pb::Descriptor* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(full_type);
  if (!d) return "";
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i) names.push_back(d->field(i)->name());
  return join(names);
}

LoadedConfig load_config(const std::string& path, const std::vector<Override>& overrides) {
  LoadedConfig out;
  std::string text;
  if (path.empty()) {
    out.source = "<embedded default config>";
    text = embedded_default_config();
  } else {
    out.source = path;
    text = read_file(path);
  }
  pb::TextFormat::ParseInfoTree tree;
  parse_into(text, out.source, &out.config, &tree);
  for (const Override& o : overrides) apply_override(&out.config, o);
  check_valid(out.config, out.source, &tree, overrides);
  return out;
}

Config parse_config_text(const std::string& text, const std::string& origin) {
  Config cfg;
  pb::TextFormat::ParseInfoTree tree;
  parse_into(text, origin, &cfg, &tree);
  check_valid(cfg, origin, &tree, {});
  return cfg;
}

std::string effective_config_text(const Config& cfg) {
  Config full = cfg;
  materialize_defaults(&full);
  std::string out;
  pb::TextFormat::Printer printer;
  printer.SetUseShortRepeatedPrimitives(true);
  LS_CHECK(printer.PrintToString(full, &out), "printing the effective config");
  return out;
}

}  // namespace lockstep
