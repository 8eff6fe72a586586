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
//   (e) `bakeplan bake all --builders e1`               cold, the pool path with one builder
//   (f) `bakeplan bake all --builders e1,e2`            cold, two engines side by side (needs
//       `scripts/docker-up --engines 2`; each engine is a docker-driver builder through a context
//       in a private DOCKER_CONFIG)
//
// Every round uses fresh repositories and a fresh nonce in the shared stage, so (a) and (b) start
// cold. Prints the figures and ratios; BENCH_ROUNDS (default 3) rounds, medians reported;
// BENCH_CASES=e,f runs only those cases.
// Note: (c) and (d) prune the engine's whole build cache.

import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt, REPO } from "../scripts/build-dist.mjs";

const REGISTRY = "127.0.0.1:5000";
const ROUNDS = Number.parseInt(process.env.BENCH_ROUNDS ?? "3", 10);
const CASES = new Set((process.env.BENCH_CASES ?? "a,b,c,d,e,f").split(","));

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

/** Engines docker-up lists (name -> DOCKER_HOST), as docker contexts in a private DOCKER_CONFIG. */
function poolConfig() {
  const file = join(process.env.BAKEPLAN_DOCKER_HOME ?? "/var/lib/bakeplan-docker", "engines");
  const engines = existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => l.split(" "))
    : [];
  if (!engines.some(([n]) => n === "e1") || !engines.some(([n]) => n === "e2")) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-bench-docker-"));
  for (const [name, host] of engines)
    sh("docker", ["context", "create", name, "--docker", `host=${host}`], {
      env: { ...process.env, DOCKER_CONFIG: dir },
    });
  return { dir, env: { ...process.env, DOCKER_CONFIG: dir } };
}

function bakeplan(p, args, env = process.env) {
  const res = spawnSync(
    process.execPath,
    [join(REPO, "bin/bakeplan.js"), "bake", "all", "--registry", REGISTRY, "--branch", "main", ...args],
    { cwd: p.dir, encoding: "utf8", maxBuffer: 256 << 20, env },
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

async function cleanup(p, pool) {
  removeImages(p.prefix);
  if (pool) {
    const images = sh("docker", ["--context", "e2", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], {
      env: pool.env,
    })
      .split("\n")
      .filter((l) => l.startsWith(p.prefix));
    if (images.length > 0) sh("docker", ["--context", "e2", "image", "rm", "--force", ...images], { env: pool.env });
  }
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
  const pool = CASES.has("e") || CASES.has("f") ? poolConfig() : undefined;
  if (!pool && (CASES.has("e") || CASES.has("f"))) {
    console.error("bench:build: (e) and (f) need two engines (scripts/docker-up --engines 2); skipped");
    for (const k of ["e", "f"]) CASES.delete(k);
  }
  // (c) and (d) rebuild (a)'s project warm.
  if (CASES.has("c") || CASES.has("d")) CASES.add("a");
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const projects = { a: project(), b: project(), e: project(), f: project() };
    try {
      const r = {};
      const { a } = projects;
      if (CASES.has("a")) r.a = timed(() => bakeplan(a, []));
      if (CASES.has("b")) r.b = timed(() => oneAtATime(projects.b));
      let summary = "";
      if (CASES.has("c")) {
        prune(a);
        r.c = timed(() => (summary = bakeplan(a, [])));
        if (summary.split("\n").some((l) => /steps built/.test(l)))
          throw new Error(`warm bake was not fully cached:\n${summary}`);
      }
      if (CASES.has("d")) {
        prune(a);
        r.d = timed(() => (summary = bakeplan(a, ["--one-by-one"])));
        if (summary.split("\n").some((l) => /steps built/.test(l)))
          throw new Error(`warm --one-by-one bake was not fully cached:\n${summary}`);
      }
      // Cold both: fresh projects, so nothing of theirs is in any cache.
      if (CASES.has("e")) r.e = timed(() => bakeplan(projects.e, ["--builders", "e1"], pool.env));
      if (CASES.has("f")) {
        let two = "";
        r.f = timed(() => (two = bakeplan(projects.f, ["--builders", "e1,e2"], pool.env)));
        const used = new Set(
          two
            .split("\n")
            .map((l) => /^\S+\s+(e\d)\s/.exec(l)?.[1])
            .filter(Boolean),
        );
        if (used.size !== 2) throw new Error(`(f) did not use both builders:\n${two}`);
      }
      rounds.push(r);
      console.error(
        `round ${i + 1}/${ROUNDS}: ${Object.entries(r)
          .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
          .join("  ")}`,
      );
    } finally {
      for (const p of Object.values(projects)) await cleanup(p, pool);
    }
  }
  if (pool) rmSync(pool.dir, { recursive: true, force: true });
  const m = Object.fromEntries([...CASES].map((k) => [k, median(rounds.map((r) => r[k]))]));
  const version = (args) => sh("docker", args).trim();
  console.log(
    `Build benchmark: test/fixtures/e2e (8 targets, 8 Dockerfiles, 15 distinct RUN steps, 11 s of sleep in total, 4 s on the longest chain)`,
  );
  console.log(
    `engine ${version(["version", "--format", "{{.Server.Version}}"])}, ${version(["buildx", "version"])}, ${cpus().length} CPUs, median of ${ROUNDS} rounds\n`,
  );
  const labels = {
    a: "(a) one bakeplan bake, cold",
    b: "(b) 8 x docker buildx build, cold",
    c: "(c) bakeplan bake, warm from registry cache",
    d: "(d) bakeplan bake --one-by-one, warm",
    e: "(e) bakeplan bake --builders e1, cold",
    f: "(f) bakeplan bake --builders e1,e2, cold",
  };
  for (const [k, label] of Object.entries(labels))
    if (m[k] !== undefined) console.log(`${label.padEnd(46)} ${m[k].toFixed(1).padStart(6)} s`);
  const ratio = (x, y, name) =>
    m[x] !== undefined && m[y] !== undefined ? [`${name} = ${(m[x] / m[y]).toFixed(2)}`] : [];
  console.log(
    `\n${[...ratio("b", "a", "(b) / (a)"), ...ratio("a", "c", "(a) / (c)"), ...ratio("d", "c", "(d) / (c)"), ...ratio("f", "e", "(f) / (e)")].join("   ")}`,
  );
}

await main();
