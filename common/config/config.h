// Loading, overriding, validating and printing the Config (common/proto/config.proto).
//
// Contract: load_config() reads a text-format file (or the embedded default when the path is empty), applies
// `--set field.path=value` overrides in order, and validates every value. Any problem throws BadInput whose
// message names the source (file:line:column, or the --set argument), the field path and what is allowed;
// nothing is done before this succeeds. It runs once, at start, before any work.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"

namespace lockstep {


struct LoadedConfig {
  Config config;
  std::string source;  // the file, or "<embedded default>"
};

// The text of configs/checkerboard.textproto, compiled into the binary.
const char* embedded_default_config();

// One command-line override: "field.path=value", and how the user wrote it (for messages), for example
// {"train.steps=0", "--steps 0"}.
struct Override {
  std::string assignment;
  std::string origin;
};
// Turns `--set` arguments into overrides.
std::vector<Override> set_overrides(const std::vector<std::string>& assignments);

// Parses, overrides and validates. Throws BadInput.
LoadedConfig load_config(const std::string& path, const std::vector<Override>& overrides);
// Parses config text that came from `origin` (a file name or a checkpoint) and validates it.
Config parse_config_text(const std::string& text, const std::string& origin);

// The config with every default spelled out, in text format (what rank 0 prints and stores).
std::string effective_config_text(const Config& cfg);

// --- pieces, exposed for tests ---------------------------------------------------------------------------
// The field path of an assignment "a.b = v" ("a.b"), spaces trimmed.
std::string override_field(const std::string& assignment);
// Applies one override to the config. Throws BadInput naming its origin.
void apply_override(Config* cfg, const Override& o);

// One validation failure: the dotted field path and what is wrong with it.
struct ConfigIssue {
  std::string field;
  std::string message;
};
std::vector<ConfigIssue> validate_config(const Config& cfg);
// "a, b, c": the fields of a message type of the schema (for unknown-field messages).
std::string field_names_of(const std::string& full_type_name);
// The names a name-valued field accepts ("model.name", "path.name", ...); empty for other fields.
const std::vector<std::string>& allowed_names(const std::string& field);

}  // namespace lockstep
