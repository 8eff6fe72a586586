// Helpers for the end-to-end tests: the bakeplan binary as a child process, a throwaway copy of
// test/fixtures/e2e with its own registry repositories, docker and registry calls.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { REPO, testdir } from "../helpers.js";
import { REGISTRY } from "./docker.js";

export const FIXTURE = join(REPO, "test/fixtures/e2e");
export const TARGETS = [
  "alpha-cuda12",
  "alpha-cuda12-dev",
  "alpha-cuda13",
  "alpha-cuda13-dev",
  "beta-cuda12",
  "beta-cuda12-dev",
  "beta-cuda13",
  "beta-cuda13-dev",
];

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** The environment of a developer's shell: not CI, so `bake` and `lint` write an out-of-date plan first. */
export function localEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { CI: _ci, ...rest } = env;
  return rest;
}

/** `node bin/bakeplan.js ARGS` in `cwd`, as a user would run it (outside CI unless `env` says so). */
export function bakeplan(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO, "bin/bakeplan.js"), ...args], {
      cwd: opts.cwd,
      env: opts.env ?? localEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 }),
    );
  });
}

export function docker(args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 300_000,
    ...opts,
  });
}

/** A copy of the e2e fixture whose image and cache repositories (and a shared-stage nonce) are unique to this run. */
export interface Project {
  dir: string;
  id: string;
  /** `bakeplan-e2e-<id>/app`, in the loopback registry. */
  repository: string;
  cacheRepository: string;
  image(target: string, tag: string): string;
  cacheRef(target: string, branch: string): string;
  /** Replaces text in a file of the copy (context.yaml or a template); fails when `from` is absent. */
  edit(file: string, from: string, to: string): void;
  /** Removes the copy, its images and its registry manifests. */
  cleanup(): void;
}

export function e2eProject(): Project {
  const id = randomBytes(4).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-e2e-"));
  cpSync(FIXTURE, dir, { recursive: true });
  const repository = `bakeplan-e2e-${id}/app`;
  const cacheRepository = `bakeplan-e2e-${id}/app-cache`;
  const project: Project = {
    dir,
    id,
    repository,
    cacheRepository,
    image: (target, tag) => `${REGISTRY}/${repository}:${tag}-${target}`,
    cacheRef: (target, branch) => `${REGISTRY}/${cacheRepository}:${target}-${branch}`,
    edit(file, from, to) {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      if (!text.includes(from)) throw new Error(`${file} does not contain ${JSON.stringify(from)}`);
      writeFileSync(path, text.replace(from, to));
    },
    cleanup() {
      removeImages(`${REGISTRY}/bakeplan-e2e-${id}/`);
      for (const repo of [repository, cacheRepository]) deleteRepository(repo);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  project.edit("context.yaml", "repository: bakeplan-e2e/app-cache", `repository: ${cacheRepository}`);
  project.edit("context.yaml", "repository: bakeplan-e2e/app", `repository: ${repository}`);
  project.edit("context.yaml", "SHARED_REF: s1", `SHARED_REF: nonce-${id}`);
  return project;
}

/** Every local image whose name starts with `prefix`. */
export function localImages(prefix: string): string[] {
  return docker(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
    .split("\n")
    .filter((l) => l.startsWith(prefix));
}

export function removeImages(prefix: string): void {
  const images = localImages(prefix);
  if (images.length > 0) docker(["image", "rm", "--force", ...images]);
}

export interface Fetched {
  status: number;
  headers: Headers;
  body: string;
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** GET from the loopback registry's v2 API, e.g. `/v2/<repo>/manifests/<tag>`. */
export async function registry(path: string, method = "GET"): Promise<Fetched> {
  const res = await fetch(`http://${REGISTRY}${path}`, { method, headers: { Accept: ACCEPT } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Tags of a repository in the loopback registry ([] when it does not exist). */
export async function registryTags(repo: string): Promise<string[]> {
  const res = await registry(`/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  return ((JSON.parse(res.body) as { tags: string[] | null }).tags ?? []).sort();
}

/** Deletes every tagged manifest of a repository (the registry runs with delete enabled). */
export function deleteRepository(repo: string): void {
  // Synchronous for afterAll: curl, since fetch is async.
  const curl = (args: string[]) => execFileSync("curl", ["-sS", "--max-time", "10", ...args], { encoding: "utf8" });
  let tags: string[];
  try {
    tags = (JSON.parse(curl([`http://${REGISTRY}/v2/${repo}/tags/list`])) as { tags?: string[] | null }).tags ?? [];
  } catch {
    return;
  }
  const digests = new Set<string>();
  for (const tag of tags) {
    const head = curl(["-I", "-H", `Accept: ${ACCEPT}`, `http://${REGISTRY}/v2/${repo}/manifests/${tag}`]);
    const digest = /^docker-content-digest:\s*(\S+)/im.exec(head)?.[1];
    if (digest) digests.add(digest);
  }
  for (const d of digests) curl(["-X", "DELETE", `http://${REGISTRY}/v2/${repo}/manifests/${d}`]);
}

/** The rawjson progress buildx printed (bakeplan passes it through with `-- --progress=rawjson`), per vertex digest. */
export interface Vertex {
  digest: string;
  /** Every name the vertex was reported under: one per target that uses it, `[target stage i/n] ...`. */
  names: Set<string>;
  cached: boolean;
  completed: boolean;
  error?: string;
}

export function rawVertices(stderr: string): Map<string, Vertex> {
  const out = new Map<string, Vertex>();
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const status = JSON.parse(line) as {
      vertexes?: { digest: string; name?: string; cached?: boolean; completed?: string; error?: string }[];
    };
    for (const v of status.vertexes ?? []) {
      const got = out.get(v.digest) ?? { digest: v.digest, names: new Set<string>(), cached: false, completed: false };
      if (v.name) got.names.add(v.name);
      if (v.cached) got.cached = true;
      if (v.completed) got.completed = true;
      if (v.error) got.error = v.error;
      out.set(v.digest, got);
    }
  }
  return out;
}

/** Vertices of RUN instructions, with the targets that use each. */
export function runSteps(vertices: Map<string, Vertex>): {
  digest: string;
  targets: string[];
  stage: string;
  command: string;
  cached: boolean;
  completed: boolean;
  error?: string;
}[] {
  const steps = [];
  for (const v of vertices.values()) {
    const parsed = [...v.names]
      .map((n) => /^\[(\S+) (\S+) \d+\/\d+\] RUN (.*)$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null);
    if (parsed.length === 0) continue;
    steps.push({
      digest: v.digest,
      targets: [...new Set(parsed.map((m) => m[1]!))].sort(),
      stage: parsed[0]![2]!,
      command: parsed[0]![3]!,
      cached: v.cached,
      completed: v.completed,
      ...(v.error ? { error: v.error } : {}),
    });
  }
  return steps;
}

/** The rows of bakeplan's summary table: TARGET, CACHE, DIGEST, TAGS. */
/** The summary table's rows: the digest without its `(index)` label, the TAGS column as printed (`first +N`). */
export function summaryRows(stdout: string): Map<string, { cache: string; digest: string; tags: string }> {
  const lines = stdout.split("\n");
  const head = lines.findIndex((l) => /^TARGET\s+CACHE\s+DIGEST\s+TAGS$/.test(l));
  if (head < 0) throw new Error(`no summary table in:\n${stdout}`);
  const rows = new Map<string, { cache: string; digest: string; tags: string }>();
  for (const line of lines.slice(head + 1)) {
    const m =
      /^(\S+)\s+(fully cached|\d+ of \d+ steps built|failed|stopped|not started|-)\s+(?:(sha256:[0-9a-f]{12}) \((?:index|manifest)\)|-)\s+(.*)$/.exec(
        line,
      );
    if (!m) break;
    rows.set(m[1]!, { cache: m[2]!, digest: m[3] ?? "-", tags: m[4]! });
  }
  return rows;
}

/** The TAGS column of `tags`: the first, and how many more. */
export function tagsColumn(tags: readonly string[]): string {
  return tags.length === 0 ? "-" : tags.length === 1 ? tags[0]! : `${tags[0]!} +${tags.length - 1}`;
}

/**
 * A project for a whole suite (testdir's cleanup is per test): context.yaml and
 * templates/Dockerfile.liquid in a temp directory, removed after the suite; `out` is where builds
 * export their file systems.
 */
export function suiteProject(prefix: string, context: string, template: string): { dir: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "templates"));
  writeFileSync(join(dir, "context.yaml"), context);
  writeFileSync(join(dir, "templates/Dockerfile.liquid"), template);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, out: join(dir, "out") };
}

/**
 * A one-target project whose RUN step checks a secret read from the file `$BAKEPLAN_TEST_TOKEN_FILE`
 * names (IRSA's token file), and that file, outside the project, holding what the step expects.
 * Both are removed when the test ends.
 */
export function secretFileProject(repository: string): { dir: string; token: string } {
  const dir = testdir({
    "context.yaml": `project: {name: s}
build: {network: none}
axes:
  target: [runtime]
stage_axis: target
defaults:
  secrets:
    tok: {src: "\${BAKEPLAN_TEST_TOKEN_FILE}"}
publish: {registry: "", repository: ${repository}, tags: ["{name}"]}
`,
    "templates/Dockerfile.liquid":
      'FROM local/busybox:1 AS runtime\nRUN --mount=type=secret,id=tok,required=true test "$(cat /run/secrets/tok)" = s3cr3t\n',
  });
  return { dir, token: join(testdir({ token: "s3cr3t" }), "token") };
}
