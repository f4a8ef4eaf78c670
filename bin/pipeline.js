#!/usr/bin/env node
// libuv's thread pool runs file writes and fsyncs: 16 threads (instead of 4) let a push, a pull
// or a worker overlap many small durable writes, which is what bounds them. It must be set
// before the pool's first use.
process.env.UV_THREADPOOL_SIZE ??= '16';
// stages/main.ts: the composition root (the built-in kinds and commands, then src/cli.ts's main).
import('../dist/stages/main.js').then((m) => m.run(process.argv.slice(2)));
