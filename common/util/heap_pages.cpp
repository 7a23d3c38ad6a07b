#include "common/util/heap_pages.h"

#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lockstep {
namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

std::string g_note = "glibc's defaults (tune_heap() not called)";
bool g_huge = false;

// "always", "madvise" or "never" (the bracketed word of the kernel's setting); "" when the file is not there.
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t a = text.find('['), b = text.find(']');
  return a == std::string::npos || b == std::string::npos || b < a ? "" : text.substr(a + 1, b - a - 1);
}

#if defined(MADV_HUGEPAGE)
void free_block(void* p) { std::free(p); }

// LibTorch's CPU allocator for huge pages (what PyTorch 2's THP_MEM_ALLOC_ENABLE does): a block of 2 MiB or more
// starts on a 2 MiB boundary and is advised MADV_HUGEPAGE before anything touches it, so the kernel can fault it in
// 2 MiB at a time (malloc's own bookkeeping, written just before and just after the block, would otherwise put 4 KiB
// pages into its first and last 2 MiB). Smaller blocks are the default allocator's.
class HugePageAllocator final : public c10::Allocator {
 public:
  explicit HugePageAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t n) const override {
    if (n < kHugePage) return base_->allocate(n);
    void* p = nullptr;
    if (posix_memalign(&p, kHugePage, n) != 0 || p == nullptr) return base_->allocate(n);  // it reports the failure
    (void)madvise(p, n, MADV_HUGEPAGE);  // advice only: refused, the block keeps 4 KiB pages, which is still correct
    return {p, p, &free_block, c10::Device(c10::DeviceType::CPU)};
  }
  // the default's deleter frees with free() too (after telling a profiler, when one listens), so it frees both kinds
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

 private:
  c10::Allocator* base_;
};
#endif

}  // namespace

void tune_heap() {
  std::string kept = "";
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);  // never: a tick frees its activations and the next one takes them again
  kept = "freed memory kept for reuse";
#endif
  const char* env = std::getenv("LOCKSTEP_HUGE_PAGES");
  const std::string mode = thp_mode();
  std::string pages;
#if defined(MADV_HUGEPAGE)
  if (env != nullptr && std::string(env) == "0") {
    pages = "4 KiB pages (LOCKSTEP_HUGE_PAGES=0)";
  } else if (mode == "always" || mode == "madvise") {
    static HugePageAllocator allocator(c10::GetDefaultCPUAllocator());
    c10::SetCPUAllocator(&allocator, /*priority=*/1);
    g_huge = true;
    pages = "2 MiB pages for blocks of 2 MiB or more (transparent huge pages: " + mode + "; LOCKSTEP_HUGE_PAGES=0 turns them off)";
  } else {
    pages = "4 KiB pages (transparent huge pages: " + (mode.empty() ? std::string("not offered by this kernel") : mode) + ")";
  }
#else
  (void)env;
  (void)mode;
  pages = "the system's pages (no MADV_HUGEPAGE on this system)";
#endif
  g_note = kept.empty() ? pages : kept + "; " + pages;
}

bool huge_pages_on() { return g_huge; }

std::string heap_note() { return g_note; }

}  // namespace lockstep
