// `--set field.path=value`: one override, applied through protobuf reflection with the text-format value
// syntax, so that every field of the schema can be set and every value is type-checked. A list field takes
// "a,b,c" (or "[a, b, c]") and is replaced whole.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/text_format.h>

#include <sstream>

#include "common/config/config.h"
#include "common/util/error.h"

namespace lockstep {
namespace pb = google::protobuf;

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string fields_of(const pb::Descriptor* d) { return field_names_of(d->full_name()); }

}  // namespace

std::string override_field(const std::string& assignment) {
  return trim(assignment.substr(0, assignment.find('=')));
}

void apply_override(Config* cfg, const Override& o) {
  const std::string& a = o.assignment;
  const size_t eq = a.find('=');
  LS_CHECK_INPUT(eq != std::string::npos, o.origin << ": expected field.path=value");
  const std::string path = override_field(a);
  std::string value = trim(a.substr(eq + 1));
  LS_CHECK_INPUT(!path.empty(), o.origin << ": the field path before '=' is empty");

  pb::Message* msg = cfg;
  std::stringstream ss(path);
  std::string part, walked;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::Descriptor* d = msg->GetDescriptor();
    const pb::FieldDescriptor* f = d->FindFieldByName(parts[i]);
    LS_CHECK_INPUT(f, o.origin << ": unknown field '" << parts[i] << "' in "
                               << (walked.empty() ? "the config" : walked) << "; its fields are: " << fields_of(d));
    walked += (walked.empty() ? "" : ".") + parts[i];
    const bool last = i + 1 == parts.size();
    if (f->is_repeated()) {  // a list of values: "a,b,c" or "[a, b, c]" replaces the whole list
      LS_CHECK_INPUT(last && f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE,
                     o.origin << ": field '" << walked << "' is a list of messages; set it in the config file");
      std::string list = value;
      if (!list.empty() && list.front() == '[' && list.back() == ']') list = list.substr(1, list.size() - 2);
      msg->GetReflection()->ClearField(msg, f);
      std::stringstream items(list);
      for (std::string item; std::getline(items, item, ',');) {
        item = trim(item);
        if (item.empty()) continue;
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && item.front() != '"') item = "\"" + item + "\"";
        LS_CHECK_INPUT(pb::TextFormat::ParseFieldValueFromString(item, f, msg),
                       o.origin << ": field '" << walked << "' expects a list of " << f->cpp_type_name() << ", got '" << item << "'");
      }
      return;
    }
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      LS_CHECK_INPUT(!last, o.origin << ": field '" << walked << "' is a message; set one of its fields: "
                                     << fields_of(f->message_type()));
      msg = msg->GetReflection()->MutableMessage(msg, f);
      continue;
    }
    LS_CHECK_INPUT(last, o.origin << ": field '" << walked << "' is a value, not a message");
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && (value.empty() || value.front() != '"')) {
      value = "\"" + value + "\"";
    }
    LS_CHECK_INPUT(pb::TextFormat::ParseFieldValueFromString(value, f, msg),
                   o.origin << ": field '" << walked << "' expects " << f->cpp_type_name() << ", got '"
                            << trim(a.substr(eq + 1)) << "'");
  }
}

}  // namespace lockstep
