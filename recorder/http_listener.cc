#include "recorder/http_listener.h"

#include <httplib.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "format/sys.h"

namespace agenttrace {

Result<int32_t> ServeHttpUntilStopped(httplib::Server* server, const HttpListenOptions& options,
                                      const ServerSignals& signals) {
  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.host);
  } else if (!server->bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Status::IOError("cannot listen on " + options.host + ":" + std::to_string(options.port));
  }
  std::atomic<bool> ended{false};
  std::thread listener([server, &ended] {
    server->listen_after_bind();
    ended = true;
  });
  // httplib's stop() acts only once the server runs: a stop that came earlier (a signal during
  // start-up) would be lost, and the join below would wait for ever.
  while (!server->is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (options.on_listening) options.on_listening(port);

  int32_t stop_signal = 0;
  for (;;) {
    pollfd p[2] = {{signals.fd(), POLLIN, 0}, {options.stop_fd, POLLIN, 0}};
    int n = RetryEintr([&] { return ::poll(p, options.stop_fd >= 0 ? 2 : 1, -1); });
    if (n < 0) break;
    if (p[0].revents & POLLIN) {
      signalfd_siginfo si;
      if (::read(signals.fd(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        stop_signal = static_cast<int32_t>(si.ssi_signo);
      }
      break;
    }
    if (options.stop_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) break;
  }
  if (options.before_stop) options.before_stop();
  server->stop();
  listener.join();
  return stop_signal;
}

}  // namespace agenttrace
