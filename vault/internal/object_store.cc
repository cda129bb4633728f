#include "vault/internal/object_store.h"

#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "vault/internal/file_queue.h"

namespace dossier::vault::internal {
namespace {

constexpr char kMagic[8] = {'D', 'S', 'V', 'O', 'B', 'J', '0', '1'};
constexpr size_t kIdBytes = 16;
constexpr size_t kStreamHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kHeaderSize = sizeof(kMagic) + 4 + kIdBytes + kStreamHeader;
constexpr size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr size_t kWriteBuffer = 1 << 20;
// Write buffers waiting for the file thread at most (each ~1 MiB): bounds memory.
constexpr size_t kQueuedBuffers = 4;

std::string ChunkAd(const std::string& object_id) { return "dossier-object-v1:" + object_id; }

// Writes of at least this size are hashed on a second thread while the first encrypts the
// same bytes: the content digest would otherwise add its cost to the encryption's.
constexpr size_t kParallelHashMin = 256 * 1024;

}  // namespace

// A thread that feeds spans into a content MAC while the caller encrypts them.
class Hasher {
 public:
  Hasher() : thread_([this] { Run(); }) {}
  ~Hasher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Starts hashing `data` into `mac`; both must stay valid until Wait() returns.
  void Start(ContentHasher& hasher, std::span<const uint8_t> data) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hasher_ = &hasher;
      pending_ = data;
      busy_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !busy_; });
  }
  // Held by the writer using the thread, from Start to Wait: writers of other threads hash
  // their own bytes meanwhile rather than wait.
  std::mutex& claim() { return claim_mu_; }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return busy_ || stop_; });
      if (stop_) return;
      const auto data = pending_;
      lock.unlock();
      hasher_->Update(data);
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }
  ContentHasher* hasher_ = nullptr;
  std::mutex claim_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::span<const uint8_t> pending_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

struct ObjectWriter::State {
  FileQueue* queue = nullptr;  // the store's: it creates, writes and renames the file
  std::shared_ptr<FileQueue::Target> target;
  DirectFile::Buffer buffer;  // ciphertext not yet handed to the queue
  size_t used = 0;
  std::string object_id;
  std::string chunk_ad;
  size_t chunk_size = 0;
  crypto_secretstream_xchacha20poly1305_state stream{};
  std::optional<ContentHasher> digest;  // when asked to hash the content
  std::vector<uint8_t> chunk;           // plaintext of the chunk being filled
  uint64_t plain_size = 0;
  uint64_t stored_size = 0;
  Hasher* hasher = nullptr;  // the store's, for large writes
  bool finished = false;
};

ObjectWriter::ObjectWriter(std::unique_ptr<State> state) : s_(std::move(state)) {}

ObjectWriter::~ObjectWriter() {
  if (!s_) return;
  if (!s_->finished) {
    s_->queue->Release(std::move(s_->buffer));
    s_->queue->Discard(s_->target);
  }
  sodium_memzero(&s_->stream, sizeof(s_->stream));
}

uint8_t* ObjectWriter::Reserve(size_t n) {
  FileQueue& q = *s_->queue;
  if (s_->used + n > q.buffer_size()) {
    // Hand over the aligned part; the rest (< 4 KiB) starts the next buffer.
    const size_t aligned = s_->used / DirectFile::kAlign * DirectFile::kAlign;
    DirectFile::Buffer next = q.Acquire();
    std::memcpy(next.get(), s_->buffer.get() + aligned, s_->used - aligned);
    q.Append(s_->target, std::exchange(s_->buffer, std::move(next)), aligned);
    s_->used -= aligned;
  }
  return s_->buffer.get() + s_->used;
}

void ObjectWriter::Seal(std::span<const uint8_t> plain, bool final) {
  uint8_t* dst = Reserve(plain.size() + kABytes);
  unsigned long long len = 0;
  crypto_secretstream_xchacha20poly1305_push(
      &s_->stream, dst, &len, plain.data(), plain.size(),
      reinterpret_cast<const uint8_t*>(s_->chunk_ad.data()), s_->chunk_ad.size(),
      final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  s_->used += len;
  s_->stored_size += len;
}

Status ObjectWriter::Write(std::span<const uint8_t> data) {
  if (s_->finished) return Internal("write after finish on object " + s_->object_id);
  bool parallel = s_->digest && data.size() >= kParallelHashMin;
  std::unique_lock<std::mutex> claim;
  if (parallel) {
    claim = std::unique_lock<std::mutex>(s_->hasher->claim(), std::try_to_lock);
    parallel = claim.owns_lock();
  }
  if (parallel) {
    s_->hasher->Start(*s_->digest, data);
  } else if (s_->digest) {
    s_->digest->Update(data);
  }
  s_->plain_size += data.size();
  Encrypt(data);
  if (parallel) s_->hasher->Wait();
  return Status::Ok();
}

void ObjectWriter::Encrypt(std::span<const uint8_t> data) {
  while (!data.empty()) {
    if (s_->chunk.empty() && data.size() >= s_->chunk_size) {  // a whole chunk, no copy
      Seal(data.first(s_->chunk_size), false);
      data = data.subspan(s_->chunk_size);
      continue;
    }
    const size_t take = std::min(data.size(), s_->chunk_size - s_->chunk.size());
    s_->chunk.insert(s_->chunk.end(), data.begin(), data.begin() + take);
    data = data.subspan(take);
    // A full chunk is sealed as a plain message; the last chunk (short or empty) is FINAL.
    if (s_->chunk.size() == s_->chunk_size) {
      Seal(s_->chunk, false);
      sodium_memzero(s_->chunk.data(), s_->chunk.size());
      s_->chunk.clear();
    }
  }
}

Result<WrittenObject> ObjectWriter::Finish(bool durable) {
  if (s_->finished) return Internal("object " + s_->object_id + " finished twice");
  Seal(s_->chunk, true);
  sodium_memzero(s_->chunk.data(), s_->chunk.size());
  s_->chunk.clear();
  s_->queue->Append(s_->target, std::move(s_->buffer), s_->used);
  s_->queue->Finish(s_->target, durable);
  s_->finished = true;
  // Durable: wait for the fsyncs. Otherwise the vault drains the queue before its syncfs
  // (ObjectStore::Flush), and a failed write fails that batch.
  if (durable) DOSSIER_RETURN_IF_ERROR(s_->queue->Drain());
  WrittenObject w;
  w.plain_size = s_->plain_size;
  w.stored_size = s_->stored_size;
  if (s_->digest) w.content_digest = s_->digest->Final();
  return w;
}

ObjectStore::ObjectStore(VaultDir vault_dir, size_t chunk_size)
    : dir_(std::move(vault_dir)), chunk_size_(chunk_size) {}

ObjectStore::~ObjectStore() = default;

std::string ObjectStore::NewObjectId() {
  EnsureSodium();
  uint8_t id[kIdBytes];
  randombytes_buf(id, sizeof(id));
  return ToHex(id);
}

std::string ObjectStore::PathFor(const std::string& object_id) {
  return "objects/" + object_id.substr(0, 2) + "/" + object_id;
}

Result<std::optional<uint64_t>> ObjectStore::FileSize(const std::string& object_id) const {
  DOSSIER_ASSIGN_OR_RETURN(auto st, dir_.Stat(PathFor(object_id)));
  if (!st) return std::optional<uint64_t>();
  if (!S_ISREG(st->st_mode)) {
    return Corrupt("object " + object_id +
                   " is a symbolic link or not a regular file: Dossier reads nothing in a vault "
                   "through a link; restore it from a backup");
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(st->st_size));
}

Status ObjectStore::Prepare() {
  bool created = false;
  for (const char* name : {"objects", "tmp"}) {
    DOSSIER_ASSIGN_OR_RETURN(bool made, dir_.MakeDir(name));
    created = created || made;
  }
  return created ? dir_.SyncDir() : Status::Ok();
}

Result<std::unique_ptr<ObjectWriter>> ObjectStore::Create(const std::string& object_id,
                                                          const SecureBuffer& data_key, bool hash) {
  auto id_bytes = FromHex(object_id);
  if (!id_bytes || id_bytes->size() != kIdBytes) return Internal("bad object id " + object_id);
  auto s = std::make_unique<ObjectWriter::State>();
  s->object_id = object_id;
  s->chunk_size = chunk_size_;
  s->chunk_ad = ChunkAd(object_id);
  if (hash && !hasher_) hasher_ = std::make_unique<Hasher>();
  if (!queue_) {
    queue_ = std::make_unique<FileQueue>(
        dir_, kWriteBuffer + chunk_size_ + kABytes + DirectFile::kAlign, kQueuedBuffers);
  }
  s->hasher = hasher_.get();
  s->queue = queue_.get();
  s->target = std::make_shared<FileQueue::Target>();
  s->target->temp = "tmp/" + object_id + ".tmp";
  s->target->final_path = PathFor(object_id);
  s->buffer = queue_->Acquire();
  s->chunk.reserve(chunk_size_);

  uint8_t header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof(kMagic));
  const uint32_t cs = static_cast<uint32_t>(chunk_size_);
  for (int i = 0; i < 4; ++i) header[8 + i] = static_cast<uint8_t>(cs >> (8 * i));
  std::memcpy(header + 12, id_bytes->data(), kIdBytes);
  crypto_secretstream_xchacha20poly1305_init_push(&s->stream, header + 12 + kIdBytes,
                                                  data_key.data());
  if (hash) s->digest.emplace();
  std::memcpy(s->buffer.get(), header, kHeaderSize);
  s->used = kHeaderSize;
  s->stored_size = kHeaderSize;
  return std::unique_ptr<ObjectWriter>(new ObjectWriter(std::move(s)));
}

Status ObjectStore::Read(const std::string& object_id, const SecureBuffer& data_key,
                         uint64_t expected_size, ByteSink* sink, uint64_t* plain_size) const {
  auto file = dir_.OpenRegular(PathFor(object_id));  // never through a symbolic link
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {  // the catalog says it exists
      return Corrupt("object " + object_id + " is missing from the vault");
    }
    if (file.status().code() == StatusCode::kCorrupt) {
      return Corrupt("object " + object_id +
                     " is a symbolic link or not a regular file: Dossier reads nothing in a "
                     "vault through a link; restore it from a backup");
    }
    return file.status();
  }
  auto corrupt = [&](const std::string& why) {
    return Corrupt(fmt::format("object {} is corrupt: {}", object_id, why));
  };
  DOSSIER_ASSIGN_OR_RETURN(uint64_t actual_size, file->Size());
  if (actual_size != expected_size) {
    return corrupt(fmt::format("the file has {} bytes but {} were written: {}", actual_size,
                               expected_size,
                               actual_size < expected_size ? "truncated" : "extended"));
  }
  uint8_t header[kHeaderSize];
  DOSSIER_ASSIGN_OR_RETURN(size_t got, file->ReadFull(header));
  if (got != kHeaderSize || std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return corrupt("bad header");
  }
  uint32_t cs = 0;
  for (int i = 0; i < 4; ++i) cs |= static_cast<uint32_t>(header[8 + i]) << (8 * i);
  if (cs == 0 || cs > (16u << 20)) return corrupt("bad chunk size");
  if (ToHex({header + 12, kIdBytes}) != object_id) {
    return corrupt("the file holds another object (swapped or moved)");
  }
  crypto_secretstream_xchacha20poly1305_state st;
  struct Wipe {  // the pull state holds a key derived from the data key
    crypto_secretstream_xchacha20poly1305_state& st;
    ~Wipe() { sodium_memzero(&st, sizeof(st)); }
  } wipe{st};
  if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header + 12 + kIdBytes,
                                                      data_key.data()) != 0) {
    return corrupt("bad stream header");
  }
  const std::string ad = ChunkAd(object_id);
  std::vector<uint8_t> in(cs + kABytes), plain(cs);
  uint64_t total = 0;
  for (uint64_t index = 0;; ++index) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, file->ReadFull(in));
    if (n < kABytes) return corrupt(fmt::format("truncated at chunk {}", index));
    unsigned long long len = 0;
    uint8_t tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st, plain.data(), &len, &tag, in.data(), n,
                                                   reinterpret_cast<const uint8_t*>(ad.data()),
                                                   ad.size()) != 0) {
      return corrupt(fmt::format("chunk {} failed authentication (modified, or wrong key)", index));
    }
    total += len;
    if (sink != nullptr && len > 0) DOSSIER_RETURN_IF_ERROR(sink->Write({plain.data(), len}));
    sodium_memzero(plain.data(), len);
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      uint8_t extra;
      DOSSIER_ASSIGN_OR_RETURN(size_t more, file->Read({&extra, 1}));
      if (more != 0 || n > cs + kABytes) return corrupt("trailing bytes after the final chunk");
      break;
    }
    if (n < in.size()) return corrupt(fmt::format("truncated after chunk {}", index));
  }
  if (plain_size != nullptr) *plain_size = total;
  return Status::Ok();
}

Result<ObjectStore::Listing> ObjectStore::ListObjects() const {
  Listing out;
  DOSSIER_ASSIGN_OR_RETURN(auto root, dir_.Stat("objects"));
  if (!root) return out;
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> shards, dir_.List("objects"));
  std::sort(shards.begin(), shards.end());
  for (const std::string& shard : shards) {
    const std::string shard_rel = "objects/" + shard;
    DOSSIER_ASSIGN_OR_RETURN(auto st, dir_.Stat(shard_rel));
    if (!st || !S_ISDIR(st->st_mode)) {  // a file or a link where a shard belongs
      out.strays.push_back(shard_rel);
      continue;
    }
    DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> names, dir_.List(shard_rel));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const auto id = FromHex(name);
      // Only <2 hex>/<32 hex> regular files are objects; anything else is reported, never
      // touched.
      DOSSIER_ASSIGN_OR_RETURN(auto e, dir_.Stat(shard_rel + "/" + name));
      if (id && id->size() == kIdBytes && name.size() == 32 && name.substr(0, 2) == shard && e &&
          S_ISREG(e->st_mode)) {
        out.objects.push_back(name);
      } else {
        out.strays.push_back(shard_rel + "/" + name);
      }
    }
  }
  return out;
}

Status ObjectStore::Remove(const std::string& object_id, bool durable) {
  const std::string path = PathFor(object_id);
  if (queue_ && !durable) {  // after the queued rename that created it
    queue_->Remove(path, false);
    return Status::Ok();
  }
  WaitForWrites();
  DOSSIER_RETURN_IF_ERROR(dir_.Remove(path));
  return durable ? dir_.SyncDir("objects/" + object_id.substr(0, 2)) : Status::Ok();
}

Status ObjectStore::Flush() { return queue_ ? queue_->Drain() : Status::Ok(); }

void ObjectStore::WaitForWrites() const {
  if (queue_) queue_->Wait();
}

Result<std::optional<int64_t>> ObjectStore::ModifiedAt(const std::string& object_id) const {
  DOSSIER_ASSIGN_OR_RETURN(auto st, dir_.Stat(PathFor(object_id)));
  if (!st) return std::optional<int64_t>();
  return std::optional<int64_t>(st->st_mtim.tv_sec);
}

Result<size_t> ObjectStore::SweepTemp(std::optional<int64_t> older_than) const {
  WaitForWrites();
  size_t n = 0;
  DOSSIER_ASSIGN_OR_RETURN(std::vector<std::string> names, dir_.List("tmp"));
  for (const std::string& name : names) {
    if (older_than) {
      DOSSIER_ASSIGN_OR_RETURN(auto st, dir_.Stat("tmp/" + name));
      if (!st || st->st_mtim.tv_sec >= *older_than) continue;
    }
    // unlinkat removes a link itself, never what it points to.
    if (dir_.Remove("tmp/" + name).ok()) ++n;
  }
  if (n > 0) DOSSIER_RETURN_IF_ERROR(dir_.SyncDir("tmp"));
  return n;
}

}  // namespace dossier::vault::internal
