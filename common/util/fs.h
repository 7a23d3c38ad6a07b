// File-system helpers shared by the run directory, checkpoints and outputs.
//
// Contract: write_file_atomic() writes to "<path>.tmp-<pid>", fsyncs it, renames it over <path> and fsyncs the
// directory, so a crash at any moment leaves either the old file or the new one, never a torn one.
// read_file() throws BadInput naming the path when the file cannot be read.
#pragma once

#include <string>

namespace lockstep {

std::string read_file(const std::string& path);
void write_file_atomic(const std::string& path, const std::string& bytes);
// Creates the directory and its parents; throws BadInput if a non-directory is in the way.
void make_dirs(const std::string& path);
bool is_dir(const std::string& path);
bool is_file(const std::string& path);
// Local time as YYYYmmdd-HHMMSS, for default run directory names.
std::string timestamp_now();

}  // namespace lockstep
