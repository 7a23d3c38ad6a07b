// Writing whole buffers to a file descriptor. No torch.
//
// Contract: write_all() writes n bytes at the descriptor's position, write_all_at() at `offset` (pwrite), both
// retrying after EINTR and after short writes; a failure throws (LS_CHECK_SYS) naming the call and `file`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lockstep {

void write_all(int fd, const void* data, size_t n, const std::string& file);
void write_all_at(int fd, const void* data, size_t n, uint64_t offset, const std::string& file);

}  // namespace lockstep
