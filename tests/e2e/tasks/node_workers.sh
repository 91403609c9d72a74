#!/usr/bin/env bash
# Node with worker threads and fs.promises (a libuv thread pool, eventfds and pipes).
set -euo pipefail
# glibc reads /sys/devices/system/cpu/online when a process needs its 9th malloc arena, and whether
# node's threads get that far depends on which ones have exited (their arenas are reused): a read
# that comes and goes with thread timing, in about one run in six, not something the task does.
# A fixed arena limit takes that read away.
export MALLOC_ARENA_MAX=8
mkdir -p out
node - <<'JS'
const { Worker } = require('worker_threads');
const fs = require('fs/promises');
const path = require('path');
const os = require('os');

function work(n) {
  return new Promise((resolve, reject) => {
    const w = new Worker('const { parentPort, workerData } = require("worker_threads");' +
                         'parentPort.postMessage(workerData * 2);', { eval: true, workerData: n });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

(async () => {
  const results = await Promise.all([1, 2, 3].map(work));
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'task-'));
  await fs.writeFile(path.join(scratch, 'part.txt'), results.join(','));
  const text = await fs.readFile(path.join(scratch, 'part.txt'), 'utf8');
  await fs.rm(scratch, { recursive: true });
  await fs.writeFile(path.join('out', 'result.txt'), text + '\n');
})();
JS
