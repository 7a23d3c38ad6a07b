#include "common/data/packed_file.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "common/checkpoint/checkpoint_file.h"
#include "common/util/error.h"
#include "common/util/fd_write.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr char kMagic[] = "LSPACK01";
constexpr size_t kMagicLen = 8, kHead = kMagicLen + 8 + 4;
constexpr uint64_t kMaxHeader = uint64_t{1} << 30;  // labels of a billion items fit; a damaged length is refused

uint64_t read_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_le(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Reads of the mapping are guarded against SIGBUS, which the kernel raises when a mapped file was cut under the
// process: the handler jumps back to the read, which then fails (false) instead of the process dying. Only the
// thread inside a guarded read is redirected; any other SIGBUS goes to the previous disposition.
thread_local sigjmp_buf* t_guard = nullptr;
struct sigaction g_previous_sigbus;
std::mutex g_sigbus_mutex;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (t_guard != nullptr) siglongjmp(*t_guard, 1);
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    if (g_previous_sigbus.sa_sigaction) return g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    return g_previous_sigbus.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);  // the fault repeats on return and ends the process as it would have
}

// Installs the handler when it is not the current one (again if someone replaced it since), keeping the one before.
void install_sigbus_guard() {
  const std::lock_guard<std::mutex> lock(g_sigbus_mutex);
  struct sigaction current {};
  LS_CHECK_SYS(::sigaction(SIGBUS, nullptr, &current), "sigaction SIGBUS");
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sigbus) return;
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  LS_CHECK_SYS(::sigaction(SIGBUS, &sa, &g_previous_sigbus), "sigaction SIGBUS");
}

// memcpy and crc32 of mapped bytes; false when the pages are gone (the file was cut). No object with a destructor
// lives between sigsetjmp and the reads.
bool guarded_copy(uint8_t* dst, const uint8_t* src, size_t n) {
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_guard = nullptr;
    return false;
  }
  t_guard = &jump;
  std::memcpy(dst, src, n);
  t_guard = nullptr;
  return true;
}

bool guarded_crc(const uint8_t* p, uint64_t n, uint32_t* crc) {
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_guard = nullptr;
    return false;
  }
  t_guard = &jump;
  *crc = crc32_of(p, n);
  t_guard = nullptr;
  return true;
}

// n bytes at offset; false at the end of the file
bool read_all_at(int fd, char* data, size_t n, uint64_t offset, const std::string& file) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    LS_CHECK_SYS(r, "pread " << file);
    if (r == 0) return false;
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

}  // namespace

uint64_t packed_chunk_items(uint64_t item_size) { return std::max<uint64_t>(1, kPackedChunkBytes / std::max<uint64_t>(item_size, 1)); }

PackedHeader parse_packed_header(const char* head, size_t head_size, uint64_t file_size, const std::string& origin) {
  LS_CHECK_INPUT(head_size >= kHead && std::memcmp(head, kMagic, kMagicLen) == 0, origin << ": not a packed data set (bad magic; make one with `lockstep data pack`)");
  const uint64_t len = read_le(head + kMagicLen, 8);
  const uint32_t crc = static_cast<uint32_t>(read_le(head + kMagicLen + 8, 4));
  LS_CHECK_INPUT(len <= kMaxHeader && len <= head_size - kHead, origin << ": truncated or damaged header (it claims " << len << " bytes)");
  LS_CHECK_INPUT(crc32_of(head + kHead, len) == crc, origin << ": damaged header (CRC-32 mismatch)");
  PackedHeader h;
  LS_CHECK_INPUT(h.ParseFromArray(head + kHead, static_cast<int>(len)), origin << ": damaged header");
  LS_CHECK_INPUT(h.format() == 1, origin << ": packed format " << h.format() << " (this Lockstep reads format 1)");
  LS_CHECK_INPUT(h.channels() == 1 || h.channels() == 3, origin << ": " << h.channels() << " channels (1 or 3 expected; damaged header)");
  LS_CHECK_INPUT(h.height() > 0 && h.width() > 0 && h.height() <= 65536 && h.width() <= 65536,
                 origin << ": items of " << h.height() << " x " << h.width() << " pixels (damaged header)");
  LS_CHECK_INPUT(h.count() > 0, origin << ": holds no items");
  const uint64_t item = uint64_t{h.channels()} * h.height() * h.width();
  LS_CHECK_INPUT(h.data_offset() >= kHead + len && h.data_offset() % kPackedAlign == 0 && h.data_offset() <= file_size,
                 origin << ": damaged header (data offset " << h.data_offset() << ")");
  LS_CHECK_INPUT(h.chunk_items() == packed_chunk_items(item), origin << ": damaged header (chunk size " << h.chunk_items() << ")");
  uint64_t bytes = 0;
  const uint64_t have = file_size - h.data_offset();
  const bool fits = checked_mul(h.count(), item, uint64_t{1} << 62, &bytes);
  if (!fits || bytes > have) {  // truncated: name the chunk where the file ends
    const uint64_t chunk = have / (h.chunk_items() * item);
    throw BadInput(origin + ": truncated: the file ends inside chunk " + std::to_string(chunk) + " (items from " + std::to_string(chunk * h.chunk_items()) +
                   "); the header's " + std::to_string(h.count()) + " items of " + std::to_string(item) + " bytes need " +
                   (fits ? std::to_string(bytes) : std::string("more than 2^62")) + " bytes, the file holds " + std::to_string(have));
  }
  LS_CHECK_INPUT(bytes == have, origin << ": " << (have - bytes) << " bytes after the last item (chunk " << (h.count() - 1) / h.chunk_items()
                                       << "); the file was extended or damaged");
  LS_CHECK_INPUT(static_cast<uint64_t>(h.chunk_crc32_size()) == (h.count() + h.chunk_items() - 1) / h.chunk_items(),
                 origin << ": damaged header (" << h.chunk_crc32_size() << " chunk checksums for " << h.count() << " items)");
  LS_CHECK_INPUT(h.labels_size() == 0 || static_cast<uint64_t>(h.labels_size()) == h.count(),
                 origin << ": " << h.labels_size() << " labels for " << h.count() << " items (damaged header)");
  LS_CHECK_INPUT(h.class_names_size() <= 65536, origin << ": " << h.class_names_size() << " class names (damaged header)");
  for (uint32_t y : h.labels()) {
    LS_CHECK_INPUT(y < static_cast<uint32_t>(std::max(1, h.class_names_size())) || h.class_names_size() == 0,
                   origin << ": a label " << y << " beyond its " << h.class_names_size() << " classes (damaged header)");
    LS_CHECK_INPUT(y <= 65535, origin << ": a label " << y << " (damaged header)");
  }
  LS_CHECK_INPUT(h.channel_order() == (h.channels() == 1 ? "L" : "RGB"), origin << ": channel order '" << clip(h.channel_order(), 20) << "' (damaged header)");
  return h;
}

PackedFile::PackedFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LS_CHECK_INPUT(fd_ >= 0, clip(path, 300) << ": cannot open (" << std::strerror(errno) << ")");
  try {
    open_mapped();
  } catch (...) {
    if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
    map_ = nullptr;
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

void PackedFile::open_mapped() {
  struct stat st {};
  LS_CHECK_SYS(::fstat(fd_, &st), "fstat " << path_);
  LS_CHECK_INPUT(S_ISREG(st.st_mode), clip(path_, 300) << ": not a regular file");
  dev_ = static_cast<uint64_t>(st.st_dev);
  ino_ = static_cast<uint64_t>(st.st_ino);
  size_ = static_cast<uint64_t>(st.st_size);
  mtime_ns_ = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  // the header by pread (the fixed part, then the length it claims when the file holds it)
  std::string head(kHead, '\0');
  LS_CHECK_INPUT(size_ >= kHead && read_all_at(fd_, head.data(), kHead, 0, path_),
                 clip(path_, 300) << ": not a packed data set (" << size_ << " bytes)");
  const uint64_t len = read_le(head.data() + kMagicLen, 8);
  if (len <= kMaxHeader && len <= size_ - kHead) {
    head.resize(kHead + len);
    LS_CHECK_INPUT(read_all_at(fd_, head.data() + kHead, len, kHead, path_), clip(path_, 300) << ": truncated header (the file was cut while it was opened)");
  }
  header_ = parse_packed_header(head.data(), head.size(), size_, clip(path_, 300));
  item_size_ = uint64_t{header_.channels()} * header_.height() * header_.width();
  chunk_items_ = header_.chunk_items();
  const uint64_t chunks = static_cast<uint64_t>(header_.chunk_crc32_size());
  verified_ = std::make_unique<std::atomic<uint8_t>[]>(chunks);
  for (uint64_t c = 0; c < chunks; ++c) verified_[c].store(0, std::memory_order_relaxed);
  install_sigbus_guard();
  map_size_ = size_;
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_SHARED, fd_, 0);
  LS_CHECK_SYS(m == MAP_FAILED ? -1 : 0, "mmap " << path_);
  map_ = static_cast<const uint8_t*>(m);
  ::madvise(const_cast<uint8_t*>(map_) + header_.data_offset(), map_size_ - header_.data_offset(), MADV_RANDOM);
}

PackedFile::~PackedFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), map_size_);
  if (fd_ >= 0) ::close(fd_);
}

std::string PackedFile::cut_message() const {
  return clip(path_, 300) + ": the packed data set was cut while this run reads it; a run needs its data unchanged (resume once it is back)";
}

void PackedFile::verify_chunk(uint64_t chunk) const {
  const uint64_t first = chunk * chunk_items_, n = std::min(chunk_items_, count() - first);
  const uint8_t* p = map_ + header_.data_offset() + first * item_size_;
  uint32_t crc = 0;
  if (!guarded_crc(p, n * item_size_, &crc)) throw BadInput(cut_message());
  LS_CHECK_INPUT(crc == header_.chunk_crc32(static_cast<int>(chunk)),
                 clip(path_, 300) << ": chunk " << chunk << " (items " << first << " to " << first + n - 1
                                  << ") is damaged or was changed (CRC-32 mismatch); pack the data set again");
  verified_[chunk].store(1, std::memory_order_release);
}

void PackedFile::read(uint64_t i, uint8_t* out) const {
  LS_CHECK(i < count(), "packed item " << i << " of " << count());
  const uint64_t chunk = i / chunk_items_;
  if (verified_[chunk].load(std::memory_order_acquire) == 0) verify_chunk(chunk);
  if (!guarded_copy(out, map_ + header_.data_offset() + i * item_size_, item_size_)) throw BadInput(cut_message());
}

void PackedFile::check_unchanged() const {
  struct stat st {};
  const bool gone = ::stat(path_.c_str(), &st) != 0;
  const int64_t mtime = gone ? 0 : static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  LS_CHECK_INPUT(!gone && static_cast<uint64_t>(st.st_dev) == dev_ && static_cast<uint64_t>(st.st_ino) == ino_ &&
                     static_cast<uint64_t>(st.st_size) == size_ && mtime == mtime_ns_,
                 clip(path_, 300) << ": the packed data set was " << (gone ? "removed" : "replaced or changed")
                                  << " while this run reads it; a run needs its data unchanged (resume once it is back)");
}

void PackedFile::verify_all(const std::function<void(uint64_t, uint64_t)>& progress) const {
  const uint64_t chunks = static_cast<uint64_t>(header_.chunk_crc32_size());
  for (uint64_t c = 0; c < chunks; ++c) {
    verify_chunk(c);
    if (progress && (c % 256 == 0 || c + 1 == chunks)) progress(c + 1, chunks);
  }
}

PackedWriter::PackedWriter(const std::string& path, uint32_t channels, uint32_t height, uint32_t width, std::vector<std::string> class_names,
                           bool labelled, uint64_t max_items, std::string source)
    : path_(path), max_items_(max_items) {
  LS_CHECK(channels == 1 || channels == 3, "PackedWriter: channels " << channels);
  header_.set_format(1);
  header_.set_channels(channels);
  header_.set_height(height);
  header_.set_width(width);
  header_.set_channel_order(channels == 1 ? "L" : "RGB");
  for (std::string& n : class_names) header_.add_class_names(std::move(n));
  header_.set_source(clip(source, 4000));
  header_.set_lockstep_version(LOCKSTEP_VERSION);
  item_size_ = uint64_t{channels} * height * width;
  chunk_items_ = packed_chunk_items(item_size_);
  header_.set_chunk_items(chunk_items_);
  labelled_ = labelled;
  // room for the header at its largest: every label 5 bytes of varint, every chunk's CRC 4 bytes, the rest
  uint64_t names = 0;
  for (const std::string& n : header_.class_names()) names += n.size() + 8;
  const uint64_t bound = 512 + header_.source().size() + names + (labelled ? 5 * max_items : 0) + 4 * (max_items / chunk_items_ + 2) + 64;
  LS_CHECK_INPUT(bound <= kMaxHeader, clip(path, 300) << ": " << max_items << " items need a header of " << bound
                                                      << " bytes, over the format's 1 GiB; pack the data set in parts");
  header_.set_data_offset(align_up(kHead + bound, kPackedAlign));
  fd_ = create_temp_beside(path, &tmp_);
}

PackedWriter::~PackedWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void PackedWriter::flush_chunk() {
  if (pending_.empty()) return;
  const uint64_t first_item = static_cast<uint64_t>(header_.chunk_crc32_size()) * chunk_items_;
  header_.add_chunk_crc32(crc32_of(pending_.data(), pending_.size()));
  write_all_at(fd_, pending_.data(), pending_.size(), header_.data_offset() + first_item * item_size_, tmp_);
  pending_.clear();
}

void PackedWriter::append(const uint8_t* item, uint32_t label) {
  LS_CHECK(header_.count() < max_items_, "PackedWriter: more than the " << max_items_ << " items announced");
  pending_.append(reinterpret_cast<const char*>(item), item_size_);
  if (labelled_) header_.add_labels(label);
  header_.set_count(header_.count() + 1);
  if (pending_.size() == chunk_items_ * item_size_) flush_chunk();
}

void PackedWriter::finish(uint64_t skipped) {
  flush_chunk();
  LS_CHECK_INPUT(header_.count() > 0, clip(path_, 300) << ": no item to pack");
  header_.set_skipped(skipped);
  std::string bytes;
  LS_CHECK(header_.SerializeToString(&bytes), "serializing the packed header");
  LS_CHECK(kHead + bytes.size() <= header_.data_offset(), "packed header of " << bytes.size() << " bytes beyond its room");
  std::string head(static_cast<size_t>(header_.data_offset()), '\0');  // the header, then zeros up to the items
  std::memcpy(head.data(), kMagic, kMagicLen);
  put_le(head.data() + kMagicLen, bytes.size(), 8);
  put_le(head.data() + kMagicLen + 8, crc32_of(bytes.data(), bytes.size()), 4);
  std::memcpy(head.data() + kHead, bytes.data(), bytes.size());
  write_all_at(fd_, head.data(), head.size(), 0, tmp_);
  const int fd = fd_;
  fd_ = -1;
  commit_temp(fd, tmp_, path_);
}

}  // namespace lockstep
