# A tiny agent for the enforcement tests: each argument is one action, and the outcome of each is
# printed as "ACTION TARGET -> ok" or "-> errno N", so the test compares what the agent itself saw.
#   read:PATH  write:PATH  connect:HOST:PORT  exec:PATH  cd:DIR  mv:FROM=TO  ln:TARGET=LINK (a symlink)
#   readnf:PATH (a read that does not follow a symlink in the last component: O_NOFOLLOW)
import os
import socket
import sys

for arg in sys.argv[1:]:
    what, _, target = arg.partition(":")
    try:
        if what == "read":
            with open(target, "rb") as f:
                f.read()
        elif what == "readnf":
            os.close(os.open(target, os.O_RDONLY | os.O_NOFOLLOW))
        elif what == "write":
            with open(target, "w") as f:
                f.write("x\n")
        elif what == "cd":
            os.chdir(target)
        elif what == "mv":
            src, _, dst = target.partition("=")
            os.rename(src, dst)
        elif what == "ln":
            dest, _, link = target.partition("=")
            os.symlink(dest, link)
        elif what == "connect":
            host, _, port = target.rpartition(":")
            s = socket.socket()
            s.settimeout(2)
            try:
                s.connect((host, int(port)))
            finally:
                s.close()
        elif what == "exec":
            pid = os.fork()
            if pid == 0:
                try:
                    os.execv(target, [target])
                except OSError as e:
                    os._exit(100 + e.errno)
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code >= 100:
                raise OSError(code - 100, "exec failed")
        print(f"{arg} -> ok", flush=True)
    except OSError as e:
        print(f"{arg} -> errno {e.errno}", flush=True)
