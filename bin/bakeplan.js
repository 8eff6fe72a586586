#!/usr/bin/env node
import module from "node:module";

// Node >= 22.1 can keep the bundle's compiled code between runs (in os.tmpdir(), or
// NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such API.
module.enableCompileCache?.();
// The bundle (scripts/build-dist.mjs), imported after the cache is on so its compilation can use it.
const { main } = await import("../dist/bin.js");
process.exitCode = await main(process.argv);
