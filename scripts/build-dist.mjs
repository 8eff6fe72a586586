// dist/: the CLI as one bundled ESM program (esbuild), with a chunk per lazily loaded part (each
// command, the planner, the YAML/schema libraries, liquidjs, diff), so a command loads only what it
// needs and Node resolves no package at run time. `npm run build`, `make build`, npm's `prepack`
// (so `npm pack` ships a current bundle; not `prepare`, which an installing project's npm reports
// as an install script to approve) and, when a source file is newer than dist/bin.js, the test
// run (test/setup/global-setup.ts) and the benchmarks: one copy of this staleness check. Types are checked by `tsc --noEmit`
// (`make check`), not here.
import { readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export const REPO = resolve(import.meta.dirname, "..");

/** The newest modification time of any file under `dir` (0 for an empty or missing tree). */
export function newestMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * What the bundle is built from besides src/: the libraries it contains (npm ci rewrites
 * node_modules/.package-lock.json), package.json (the version it embeds) and this script.
 */
const BUILD_INPUTS = ["package.json", "node_modules/.package-lock.json", "scripts/build-dist.mjs"];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Whether dist/bin.js is missing or older than a file in src/ or another input of the bundle. */
export function distIsStale(repo = REPO) {
  const built = mtime(join(repo, "dist/bin.js"));
  const inputs = [newestMtime(join(repo, "src")), ...BUILD_INPUTS.map((f) => mtime(join(repo, f)))];
  return built === 0 || built < Math.max(...inputs);
}

/**
 * Libraries that `require()` loads on first use (src/render/liquidjs.ts, src/io/write-plan.ts):
 * each is its own CommonJS file next to bin.js, so a run that never calls them never reads them.
 */
const LAZY_LIBRARIES = ["liquidjs", "diff"];

/** Resolves `require("liquidjs")` (and the others) to the lazily required file `./liquidjs.cjs`. */
const lazyLibraries = {
  name: "lazy-libraries",
  setup(build) {
    const filter = new RegExp(`^(${LAZY_LIBRARIES.join("|")})$`);
    build.onResolve({ filter }, (args) =>
      args.kind === "require-call" ? { path: `./${args.path}.cjs`, external: true } : undefined,
    );
  },
};

/**
 * esbuild's options for the bundle of `entry` (src/bin.ts, or the benchmark's audit entry) into
 * `outdir`.
 *   - format esm with splitting: every `import()` in src/ becomes a chunk loaded when it runs.
 *   - The banner gives each file a `require` for Node's built-ins (in bundled CommonJS: yaml) and
 *     the lazy libraries: esbuild's ESM output has none (evanw/esbuild#1921).
 *   - Linked source maps, read only when an internal error prints its stack (src/bin.ts).
 */
export function bundleOptions(repo, entry, outdir) {
  return {
    absWorkingDir: repo,
    entryPoints: { bin: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
    // Flat: every file of the bundle sits next to bin.js (src/io/plan-state.ts stamps that
    // directory; the banner's require finds ./liquidjs.cjs from any chunk).
    chunkNames: "[name]-[hash]",
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: 'import { createRequire as __bakeplanRequire } from "node:module";\nconst require = __bakeplanRequire(import.meta.url);',
    },
    plugins: [lazyLibraries],
    metafile: true,
  };
}

/** Builds the bundle of `entry` into `outdir` afresh (a chunk of an earlier build never lingers), with the lazy libraries. */
export async function bundle(repo, entry, outdir) {
  const esbuild = await import(pathToFileURL(join(repo, "node_modules/esbuild/lib/main.js")).href);
  rmSync(outdir, { recursive: true, force: true });
  const common = { absWorkingDir: repo, bundle: true, platform: "node", target: "node20.19", legalComments: "none" };
  await Promise.all([
    esbuild.build(bundleOptions(repo, entry, outdir)),
    ...LAZY_LIBRARIES.map((lib) =>
      esbuild.build({
        ...common,
        entryPoints: [lib],
        outfile: join(outdir, `${lib}.cjs`),
        format: "cjs",
        logLevel: "warning",
      }),
    ),
  ]);
}

/** Builds dist/. */
export async function build(repo = REPO) {
  await bundle(repo, "src/bin.ts", join(repo, "dist"));
}

/** Bundles src/ into dist/ when it is stale; throws when the build fails. */
export async function ensureBuilt(repo = REPO) {
  if (distIsStale(repo)) await build(repo);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await build();
