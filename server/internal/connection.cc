#include "server/internal/connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dossier::server::internal {

static_assert(POLLIN == 0x001, "ConnectionStream::kPollIn is POLLIN");

namespace {

using std::chrono::milliseconds;

milliseconds ToMs(time_t sec, time_t usec) {
  return milliseconds(static_cast<int64_t>(sec) * 1000 + usec / 1000);
}

void NumericName(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  char host[NI_MAXHOST];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0,
                    NI_NUMERICHOST) != 0) {
    return;
  }
  ip = host;
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int sock, milliseconds read_timeout, milliseconds write_timeout)
    : sock_(sock),
      read_timeout_(read_timeout),
      write_timeout_(write_timeout),
      buffer_(kBufferBytes) {}

int ConnectionStream::Poll(short events, milliseconds timeout) const {
  pollfd p{sock_, events, 0};
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
    const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n >= 0) return n > 0 ? 1 : 0;
    if (errno != EINTR) return -1;
  }
}

bool ConnectionStream::is_readable() const {
  return pos_ < end_ || Poll(POLLIN, read_timeout_) > 0;
}

bool ConnectionStream::is_writable() const {
  if (Poll(POLLOUT, write_timeout_) <= 0) return false;
  // Still connected? A peer that closed reads as 0 bytes; one that sent more is alive.
  if (Poll(POLLIN, milliseconds(0)) == 0) return true;
  char byte;
  return ::recv(sock_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (pos_ == end_) {
    ssize_t n;
    // Most reads of a body find bytes waiting: try first, and poll only when there are none.
    do {
      n = ::recv(sock_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Poll(POLLIN, read_timeout_) <= 0) return -1;
      do {
        n = ::recv(sock_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
    }
    if (n <= 0) return n;
    ++receives_;
    pos_ = 0;
    end_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, end_ - pos_);
  std::memcpy(ptr, buffer_.data() + pos_, n);
  pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n;
  do {
    n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    NumericName(addr, len, ip, port);
  }
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    NumericName(addr, len, ip, port);
  }
}

bool BufferedServer::process_and_close_socket(socket_t sock) {
  bool ok = false;
  // An answer's headers and body go out in separate writes: with Nagle's algorithm the body
  // would wait for the client's delayed ACK of the headers (40 ms on Linux) on every request
  // of a keep-alive connection whose client does not set TCP_NODELAY itself.
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  {
    ConnectionStream stream(sock, ToMs(read_timeout_sec_, read_timeout_usec_),
                            ToMs(write_timeout_sec_, write_timeout_usec_));
    const auto stopped = [this] { return svr_sock_ == INVALID_SOCKET; };
    for (size_t left = keep_alive_max_count_; left > 0; --left) {
      if (stopped()) break;
      if (!stream.WaitForRequest(std::chrono::seconds(keep_alive_timeout_sec_), stopped)) break;
      bool closed = false;
      ok = process_request(stream, left == 1, closed, nullptr);
      if (!ok || closed) break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace dossier::server::internal
