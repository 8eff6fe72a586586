#!/usr/bin/env node
// Start-up benchmark: the CLI as it ships (one esbuild bundle, dist/, what `npm pack` packs) against
// the same commit unbundled (tsc's output, each module and library resolved by Node at run time).
// `node bench/startup.mjs [--reps N]` (default 11). Prints figures; asserts nothing.
//
// Each command runs N times per build, the builds alternating so load on the machine hits both
// alike; the figure is the median wall time of the child process. The unbundled build is tsc's
// output of src/ in a temp directory (removed afterwards) whose node_modules links to this
// checkout's, so both builds run the same library versions. bakeplan's state directory is off
// (BAKEPLAN_NO_CACHE=1): `list` and `check` plan in full.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ensureBuilt, REPO } from "../scripts/build-dist.mjs";

const i = process.argv.indexOf("--reps");
const REPS = i >= 0 ? Number(process.argv[i + 1]) : 11;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function wall(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, BAKEPLAN_NO_CACHE: "1" },
  });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${r.status}:\n${r.stderr}`);
  return t;
}

await ensureBuilt();
const tmp = mkdtempSync(join(os.tmpdir(), "bakeplan-startup-"));
try {
  // tsc keeps rootDir "." (src/ under the output, package.json beside it, as src/io/package-json.ts imports it).
  const tsc = spawnSync(
    process.execPath,
    [
      join(REPO, "node_modules/typescript/bin/tsc"),
      "-p",
      join(REPO, "tsconfig.build.json"),
      "--noEmit",
      "false",
    ].concat(["--outDir", join(tmp, "out")]),
    { encoding: "utf8" },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  symlinkSync(join(REPO, "node_modules"), join(tmp, "node_modules"), "dir");
  const unbundled = join(tmp, "bakeplan.mjs");
  writeFileSync(
    unbundled,
    'const { main } = await import("./out/src/bin.js");\nprocess.exitCode = await main(process.argv);\n',
  );
  const builds = [
    { name: "bundle (bin/bakeplan.js -> dist/)", bin: join(REPO, "bin/bakeplan.js") },
    { name: "unbundled (tsc output, node_modules)", bin: unbundled },
  ];
  const commands = [["--version"], ["list"], ["check"]];
  console.log(
    `node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(2)}; median of ${REPS} runs, wall ms of the child process`,
  );
  console.log(
    ["command".padEnd(14), ...builds.map((b) => b.name.padStart(38)), "unbundled/bundle".padStart(18)].join(""),
  );
  wall([builds[0].bin, "--version"]); // warm the file cache of both before timing
  wall([builds[1].bin, "--version"]);
  for (const args of commands) {
    const times = builds.map(() => []);
    for (let r = 0; r < REPS; r++) builds.forEach((b, k) => times[k].push(wall([b.bin, ...args])));
    const [a, b] = times.map(median);
    console.log(
      [
        `${args.join(" ")}`.padEnd(14),
        `${a.toFixed(0)} ms`.padStart(38),
        `${b.toFixed(0)} ms`.padStart(38),
        `${(b / a).toFixed(2)}x`.padStart(18),
      ].join(""),
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
