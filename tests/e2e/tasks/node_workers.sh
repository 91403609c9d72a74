#!/usr/bin/env bash
# Node with worker threads and fs.promises (a libuv thread pool, eventfds and pipes).
set -euo pipefail
# glibc's malloc reads /sys/devices/system/cpu/online when a process needs its 9th arena, and
# /proc/sys/vm/overcommit_memory the first time it shrinks the heap of an arena other than the main
# one; with node's threads both depend on thread timing (which threads have exited, when memory is
# freed): reads that come and go from run to run, not something the task does. One arena takes
# both away.
export MALLOC_ARENA_MAX=1
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
