// File-system helpers shared by the run directory, checkpoints and outputs.
//
// Contract: write_file_atomic() writes to a temporary file beside <path> (create_temp_beside: an unpredictable
// name, created exclusively and never through a symbolic link), fsyncs it, renames it over <path> (a symbolic link
// at <path> is replaced, not followed) and fsyncs the directory, so a crash at any moment leaves either the old
// file or the new one, never a torn one. read_file() throws BadInput naming the path when the file cannot be read,
// is not a regular file, or is larger than the memory available.
#pragma once

#include <string>

namespace lockstep {

std::string read_file(const std::string& path);
void write_file_atomic(const std::string& path, const std::string& bytes);
// The parts of write_file_atomic, for writers that stream: a new file ".<name>.tmp-<16 random hex digits>" beside
// `path` (O_CREAT | O_EXCL | O_NOFOLLOW), its descriptor returned and its name in *tmp; then commit_temp() fsyncs,
// closes and renames it to `path` and fsyncs the directory; it closes the descriptor and removes the temporary file
// when anything fails before the rename.
int create_temp_beside(const std::string& path, std::string* tmp);
void commit_temp(int fd, const std::string& tmp, const std::string& path);
// Whether a temporary file name is one of create_temp_beside's for a file named `name`.
bool is_temp_of(const std::string& temp_name, const std::string& name);
// A file opened for appending, created when missing; refused (BadInput) when `path` is a symbolic link.
int open_append_nofollow(const std::string& path);
// Whether anything, a dangling symbolic link included, is at `path` (lstat).
bool exists_nofollow(const std::string& path);
bool is_symlink(const std::string& path);
// n random bytes as 2n hex digits (getrandom).
std::string random_hex(size_t n);
// Creates the directory and its parents; throws BadInput if a non-directory is in the way.
void make_dirs(const std::string& path);
bool is_dir(const std::string& path);
bool is_file(const std::string& path);
// Local time as YYYYmmdd-HHMMSS, for default run directory names.
std::string timestamp_now();

}  // namespace lockstep
