// Build benchmark (`npm run bench:build`): wall time of real builds on the end-to-end fixture
// (test/fixtures/e2e: 2 frameworks x 2 CUDA values x runtime/dev = 8 targets on local/busybox:1,
// every RUN step `sleep 1` or less), against the engine, buildx and loopback registry that
// `make docker-up` starts.
//
//   (a) one `bakeplan bake all`                         cold: no step in local or registry cache
//   (b) the same 8 targets, one `docker buildx build`   cold, as a build.sh loop does it, with the
//       at a time                                         same args, tags, labels and cache flags
//   (c) `bakeplan bake all` after `docker buildx prune -af` and removing the images: warm from
//       the registry cache (a) wrote
//   (d) as (c), with --one-by-one (one buildx bake per target, the buildx#414 workaround)
//
// Every round uses fresh repositories and a fresh nonce in the shared stage, so (a) and (b) start
// cold. Prints the figures and ratios; BENCH_ROUNDS (default 3) rounds, medians reported.
// Note: (c) and (d) prune the engine's whole build cache.

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, REPO } from "../scripts/build-dist.mjs";

const REGISTRY = "127.0.0.1:5000";
const ROUNDS = Number.parseInt(process.env.BENCH_ROUNDS ?? "3", 10);

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 << 20,
    ...opts,
  });
}

function preflight() {
  const problems = [];
  const ok = (args) => spawnSync("docker", args, { stdio: "ignore", timeout: 20_000 }).status === 0;
  if (!ok(["buildx", "version"])) problems.push("docker buildx is not installed");
  else if (!ok(["info"])) problems.push("no Docker engine answers");
  else if (!ok(["image", "inspect", "local/busybox:1"])) problems.push("local/busybox:1 is missing");
  if (spawnSync("curl", ["-fsS", `http://${REGISTRY}/v2/`], { stdio: "ignore" }).status !== 0)
    problems.push(`no registry on ${REGISTRY}`);
  if (problems.length > 0) {
    console.error(`bench:build: ${problems.join("; ")}. Run \`make docker-up\` first.`);
    process.exit(1);
  }
}

/** A copy of the fixture with its own repositories and shared-stage nonce. */
function project() {
  const id = randomBytes(4).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-bench-"));
  cpSync(join(REPO, "test/fixtures/e2e"), dir, { recursive: true });
  const file = join(dir, "context.yaml");
  writeFileSync(
    file,
    readFileSync(file, "utf8")
      .replace("repository: bakeplan-e2e/app-cache", `repository: bakeplan-bench-${id}/app-cache`)
      .replace("repository: bakeplan-e2e/app", `repository: bakeplan-bench-${id}/app`)
      .replace("SHARED_REF: s1", `SHARED_REF: bench-${id}`),
  );
  return { id, dir, prefix: `${REGISTRY}/bakeplan-bench-${id}/` };
}

function timed(fn) {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

function bakeplan(p, args) {
  const res = spawnSync(
    process.execPath,
    [join(REPO, "bin/bakeplan.js"), "bake", "all", "--registry", REGISTRY, "--branch", "main", ...args],
    { cwd: p.dir, encoding: "utf8", maxBuffer: 256 << 20 },
  );
  if (res.status !== 0) throw new Error(`bakeplan bake failed (${res.status}):\n${res.stderr.slice(-3000)}`);
  return res.stdout;
}

/** The argv of one `docker buildx build` for a bake target, as a build.sh loop would write it. */
function buildArgv(t) {
  const argv = ["buildx", "build", "--progress=plain", "-f", t.dockerfile, "--target", t.target];
  for (const [k, v] of Object.entries(t.args ?? {})) argv.push("--build-arg", `${k}=${v}`);
  for (const tag of t.tags ?? []) argv.push("-t", tag);
  for (const [k, v] of Object.entries(t.labels ?? {})) argv.push("--label", `${k}=${v}`);
  for (const c of t["cache-from"] ?? []) argv.push("--cache-from", c);
  for (const c of t["cache-to"] ?? []) argv.push("--cache-to", c);
  if (t.platforms) argv.push("--platform", t.platforms.join(","));
  if (t.network) argv.push("--network", t.network);
  argv.push(t.context ?? ".");
  return argv;
}

function oneAtATime(p) {
  // The plan is written by `bakeplan plan`; the loop then builds from it target by target.
  sh(process.execPath, [join(REPO, "bin/bakeplan.js"), "plan", "--registry", REGISTRY, "--branch", "main"], {
    cwd: p.dir,
  });
  const bake = JSON.parse(readFileSync(join(p.dir, "docker-bake.json"), "utf8"));
  for (const name of bake.group.all.targets) sh("docker", buildArgv(bake.target[name]), { cwd: p.dir });
}

function localImages(prefix) {
  return sh("docker", ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
    .split("\n")
    .filter((l) => l.startsWith(prefix));
}

function removeImages(prefix) {
  const images = localImages(prefix);
  if (images.length > 0) sh("docker", ["image", "rm", "--force", ...images]);
}

async function deleteRepository(repo) {
  const accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
  const list = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`);
  if (!list.ok) return;
  const digests = new Set();
  for (const tag of (await list.json()).tags ?? []) {
    const head = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: accept },
    });
    const d = head.headers.get("docker-content-digest");
    if (d) digests.add(d);
  }
  for (const d of digests) await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${d}`, { method: "DELETE" });
}

async function cleanup(p) {
  removeImages(p.prefix);
  for (const r of ["app", "app-cache"]) await deleteRepository(`bakeplan-bench-${p.id}/${r}`);
  rmSync(p.dir, { recursive: true, force: true });
}

function prune(p) {
  sh("docker", ["buildx", "prune", "-af"]);
  removeImages(p.prefix);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  preflight();
  await ensureBuilt();
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const a = project();
    const b = project();
    try {
      const r = {};
      r.a = timed(() => bakeplan(a, []));
      r.b = timed(() => oneAtATime(b));
      prune(a);
      let summary = "";
      r.c = timed(() => (summary = bakeplan(a, [])));
      const notCached = summary.split("\n").filter((l) => /steps built/.test(l));
      if (notCached.length > 0) throw new Error(`warm bake was not fully cached:\n${summary}`);
      prune(a);
      r.d = timed(() => (summary = bakeplan(a, ["--one-by-one"])));
      if (summary.split("\n").some((l) => /steps built/.test(l)))
        throw new Error(`warm --one-by-one bake was not fully cached:\n${summary}`);
      rounds.push(r);
      console.error(
        `round ${i + 1}/${ROUNDS}: a ${r.a.toFixed(1)}s  b ${r.b.toFixed(1)}s  c ${r.c.toFixed(1)}s  d ${r.d.toFixed(1)}s`,
      );
    } finally {
      await cleanup(a);
      await cleanup(b);
    }
  }
  const m = Object.fromEntries(["a", "b", "c", "d"].map((k) => [k, median(rounds.map((r) => r[k]))]));
  const version = (args) => sh("docker", args).trim();
  console.log(
    `Build benchmark: test/fixtures/e2e (8 targets, 4 Dockerfiles, 15 distinct RUN steps, 11 s of sleep in total, 4 s on the longest chain)`,
  );
  console.log(
    `engine ${version(["version", "--format", "{{.Server.Version}}"])}, ${version(["buildx", "version"])}, ${cpus().length} CPUs, median of ${ROUNDS} rounds\n`,
  );
  const rows = [
    ["(a) one bakeplan bake, cold", m.a],
    ["(b) 8 x docker buildx build, cold", m.b],
    ["(c) bakeplan bake, warm from registry cache", m.c],
    ["(d) bakeplan bake --one-by-one, warm", m.d],
  ];
  for (const [label, s] of rows) console.log(`${label.padEnd(46)} ${s.toFixed(1).padStart(6)} s`);
  console.log(
    `\n(b) / (a) = ${(m.b / m.a).toFixed(2)}   (a) / (c) = ${(m.a / m.c).toFixed(2)}   (d) / (c) = ${(m.d / m.c).toFixed(2)}`,
  );
}

await main();
