// Plain-HTTP connections, read through a buffer of their own. Private to server/.
//
// httplib 0.11 (what Debian 12 ships, compiled) reads a request body 4 KiB at a time, each
// read a poll and a recv: about 0.8 CPU-seconds per GB uploaded, more than sealing and
// spooling the same GB. BufferedServer answers every connection through ConnectionStream
// instead, which fills a 128 KiB buffer with one recv and hands httplib its 4 KiB pieces
// from it: a 1 GB upload takes some 8,000 reads, not 262,000 reads and as many polls
// (doc/PERFORMANCE.md §Uploads through the server).
//
//   auto http = std::make_unique<BufferedServer>();   // instead of httplib::Server
//
// One stream serves all the requests of a keep-alive connection, so bytes of a next request
// that arrived with the last one are answered, not lost. The buffer is in sodium_malloc memory
// (an upload's plaintext passes through it): locked against swap, wiped when the connection
// ends. TLS connections keep httplib's SSLServer, whose reads are TLS records.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "common/secure_buffer.h"

namespace dossier::server::internal {

class ConnectionStream final : public httplib::Stream {
 public:
  static constexpr size_t kBufferBytes = size_t{128} << 10;

  ConnectionStream(int sock, std::chrono::milliseconds read_timeout,
                   std::chrono::milliseconds write_timeout);

  bool is_readable() const override;
  bool is_writable() const override;
  // At most `size` bytes: those buffered, or else those one recv brings (0 when the peer
  // closed, -1 on an error or when nothing came within the read timeout).
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  using httplib::Stream::write;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

  // Whether a next request has begun to arrive within `idle`: true at once when its bytes are
  // buffered; false when the peer closed, on an error, or when `stop` turns true (polled every
  // 100 ms, so a stopping server does not wait out idle connections).
  template <typename Stop>
  bool WaitForRequest(std::chrono::milliseconds idle, Stop stop) const {
    if (pos_ < end_) return true;
    const auto until = std::chrono::steady_clock::now() + idle;
    while (!stop()) {
      const int ready = Poll(kPollIn, std::chrono::milliseconds(100));
      if (ready != 0) return ready > 0;
      if (std::chrono::steady_clock::now() >= until) return false;
    }
    return false;
  }

  // Receives that brought bytes, so far (tests: that a body is read in large pieces).
  size_t receives() const { return receives_; }

 private:
  static constexpr short kPollIn = 0x001;  // POLLIN, without <poll.h> in this header
  // 1 when the socket is ready for `events`, 0 on a timeout, -1 on an error.
  int Poll(short events, std::chrono::milliseconds timeout) const;

  int sock_;
  std::chrono::milliseconds read_timeout_;
  std::chrono::milliseconds write_timeout_;
  SecureBuffer buffer_;
  size_t pos_ = 0;  // buffer_[pos_, end_) is received and not yet read
  size_t end_ = 0;
  size_t receives_ = 0;
};

// httplib::Server with every connection read through a ConnectionStream. Its keep-alive
// rules are httplib's: at most keep_alive_max_count requests, each after at most
// keep_alive_timeout of silence.
class BufferedServer final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace dossier::server::internal
