#!/usr/bin/env node
import module from "node:module";
import { fileURLToPath } from "node:url";

// Node >= 22.1 can keep the bundle's compiled code between runs (in os.tmpdir(), or
// NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has no such API.
module.enableCompileCache?.();
// The bundle (scripts/build-dist.mjs), imported after the cache is on so its compilation can use it.
// In a source checkout dist/ exists once something built it (`make build`, `npm run build`).
const bundle = new URL("../dist/bin.js", import.meta.url);
const { main } = await import(bundle.href).catch((error) => {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes(fileURLToPath(bundle))) throw error;
  console.error("bakeplan: dist/bin.js is not built: run `make build` (or `npm run build`) in this checkout");
  process.exit(1);
});
process.exitCode = await main(process.argv);
