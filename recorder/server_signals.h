// The signal set-up of the HTTP servers (`record --mcp-http`, `replay --serve --http`): SIGTERM, SIGINT
// and SIGHUP blocked and read from a signalfd (a clean stop), SIGPIPE ignored (a client that goes away
// must not kill the server); both restored when the object goes. Create it before any thread starts,
// so that every thread inherits the mask and the signalfd sees every such signal.
#ifndef AGENTTRACE_RECORDER_SERVER_SIGNALS_H_
#define AGENTTRACE_RECORDER_SERVER_SIGNALS_H_

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>

#include "format/status.h"
#include "format/unique_fd.h"

namespace agenttrace {

class ServerSignals {
 public:
  ServerSignals() {
    sigset_t stop_set;
    sigemptyset(&stop_set);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&stop_set, s);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old_mask_);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe_);
    fd_.reset(::signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_.valid()) status_ = Status::FromErrno("signalfd", errno);
  }
  ~ServerSignals() {
    fd_.reset();
    sigaction(SIGPIPE, &old_pipe_, nullptr);
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  ServerSignals(const ServerSignals&) = delete;
  ServerSignals& operator=(const ServerSignals&) = delete;

  // Not OK when the signalfd could not be made.
  const Status& status() const { return status_; }
  // Readable when a stop signal arrived (read a signalfd_siginfo from it).
  int fd() const { return fd_.get(); }

 private:
  sigset_t old_mask_;
  struct sigaction old_pipe_ {};
  UniqueFd fd_;
  Status status_;
};

}  // namespace agenttrace

#endif  // AGENTTRACE_RECORDER_SERVER_SIGNALS_H_
