// Hardening catalogue, the commands of issue 13 (issue 10's audit): `affected`, `images`, `lock` and
// `preflight` on hostile input. What they write (the affected group of --write-group, the image
// lock) follows the bake file's write rules; what they print never carries a raw control
// character; a revision from the command line never becomes a git option; a registry named by a
// pull request's FROM is read as untrusted. Each row asserts the exit code, the located message
// and that nothing changed anywhere under a root holding the project, a sibling project, the run's
// TMPDIR and HOME.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { runCli, testdir, type CliResult } from "../helpers.js";
import { gitRepo, isolateGit } from "../git-helpers.js";
import { expectRefused, expectTreeUnchanged, HARD_CONTEXT, HARD_TEMPLATE, snapshotTree } from "../hardening-helpers.js";

isolateGit();
afterEach(() => vi.unstubAllEnvs());

const T = "templates/Dockerfile.liquid";

interface World {
  root: string;
  dir: string;
  sibling: string;
}

/** A planned project committed on main in a git repository, with a change in the working tree, beside a sibling project. */
async function world(files: Record<string, string> = {}): Promise<World> {
  const root = testdir();
  const dir = join(root, "project");
  const sibling = join(root, "sibling");
  for (const d of [dir, sibling, join(root, "tmp"), join(root, "home")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(sibling, "notes.json"), '{"mine": true}\n');
  vi.stubEnv("TMPDIR", join(root, "tmp"));
  vi.stubEnv("HOME", join(root, "home"));
  const repo = gitRepo({ "context.yaml": HARD_CONTEXT, [T]: HARD_TEMPLATE, ...files }, dir);
  const res = await runCli(["plan"], dir);
  expect([res.code, res.stderr]).toEqual([0, ""]);
  repo.commit("plan");
  writeFileSync(join(dir, "context.yaml"), HARD_CONTEXT.replace('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.13"'));
  return { root, dir, sibling };
}

interface Row {
  name: string;
  setup?: (w: World) => void;
  args: string[] | ((w: World) => string[]);
  code?: number;
  at: string[] | ((w: World) => string[]);
  message: string | RegExp;
}

async function expectRow(row: Row): Promise<CliResult> {
  const w = await world();
  row.setup?.(w);
  const before = snapshotTree(w.root);
  const args = typeof row.args === "function" ? row.args(w) : row.args;
  const res = await runCli(args, w.dir);
  expectRefused(res, {
    code: row.code ?? 1,
    at: typeof row.at === "function" ? row.at(w) : row.at,
    message: row.message,
  });
  expect(res.stderr).not.toMatch(/\n\s+at .*:\d+:\d+\)?\n/); // never a stack trace
  // eslint-disable-next-line no-control-regex -- the point
  expect(res.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/); // nothing raw reaches the terminal
  expect(res.stderr.split("\n").length, "one problem, one line").toBeLessThanOrEqual(2);
  expectTreeUnchanged(w.root, before);
  return res;
}

const AFFECTED = ["affected", "--base", "main"];
const group = (file: string) => [...AFFECTED, "--write-group", file];
const GIVE = "Give another --write-group FILE";

// prettier-ignore
const writeGroupRows: Row[] = [
  { name: "--write-group context.yaml", args: group("context.yaml"), at: ["context.yaml: is the config file"], message: `bakeplan never writes the affected group there. ${GIVE}` },
  { name: "--write-group a template", args: group(T), at: [`${T}: is a template`], message: GIVE },
  { name: "--write-group a generated Dockerfile", args: group("bake/vllm.Dockerfile"), at: ["bake/vllm.Dockerfile: is a Dockerfile this plan writes"], message: GIVE },
  { name: "--write-group the plan's journal", args: group("bake/.bakeplan-journal.json"), at: ["bake/.bakeplan-journal.json: is one of bakeplan's own files"], message: GIVE },
  { name: "--write-group a temp-file name of bakeplan's", args: group(".docker-bake.json.bakeplan-1-abc.tmp"), at: ["is one of bakeplan's own files"], message: GIVE },
  { name: "--write-group the image lock", args: group("bakeplan.lock.json"), at: ["bakeplan.lock.json: is the image lock"], message: GIVE },
  { name: "--write-group the bake file", args: group("docker-bake.json"), at: ["docker-bake.json is the bake file"], message: "the group goes into a file next to it" },
  { name: "--write-group into the plan-state directory", setup: (w) => vi.stubEnv("BAKEPLAN_CACHE_DIR", join(w.root, "home")), args: (w) => group(join(w.root, "home/g.json")), at: ["g.json: is in bakeplan's state directory"], message: GIVE },
  { name: "--write-group a hand-written file of the sibling project", args: group("../sibling/notes.json"), at: ["notes.json: was not written by bakeplan"], message: "bakeplan does not replace it" },
  { name: "--write-group a link to the sibling's file", setup: (w) => symlinkSync(join(w.sibling, "notes.json"), join(w.dir, "group.json")), args: group("group.json"), at: (w) => [`group.json: is a link to ${join(w.sibling, "notes.json")}`], message: "outside the project; bakeplan does not write through it" },
  { name: "--write-group a link inside the project", setup: (w) => { writeFileSync(join(w.dir, "real.json"), ""); symlinkSync("real.json", join(w.dir, "group.json")); }, args: group("group.json"), at: ["group.json: is a link"], message: "bakeplan writes the affected group only over one it wrote" },
  { name: "--write-group a directory", setup: (w) => mkdirSync(join(w.dir, "out.json")), args: group("out.json"), at: ["out.json: is a directory"], message: "give a file path for the affected group" },
  { name: "--write-group a named pipe (never opened)", setup: (w) => execFileSync("mkfifo", [join(w.dir, "group.json")]), args: group("group.json"), at: ["group.json: is not a regular file"], message: "bakeplan writes the affected group only over one it wrote" },
];

// prettier-ignore
const revisionRows: Row[] = [
  { name: "--base --upload-pack=... is never a git option", args: ["affected", "--base", "--upload-pack=touch PWNED"], at: ['--base "--upload-pack=touch PWNED": not a revision'], message: 'a revision never starts with "-"' },
  { name: "--base -x", args: ["affected", "--base", "-x"], at: ['--base "-x": not a revision'], message: "give a branch, tag or commit, e.g. --base origin/main" },
  { name: "--head --output=... is never a git option", args: ["affected", "--base", "main", "--head", "--output=/tmp/pwned"], at: ['--head "--output=/tmp/pwned": not a revision'], message: 'a revision never starts with "-"' },
  { name: "--base with an ESC (the message escapes it, one line)", args: ["affected", "--base", "main\x1b[2J"], at: ['--base "main\\u001b[2J": not a revision'], message: "a revision holds no blanks or control characters" },
  { name: "--base with a line break (one line)", args: ["affected", "--base", "main\nbakeplan: 0 of 4 targets affected"], at: ['--base "main\\nbakeplan: 0 of 4 targets affected": not a revision'], message: "no blanks or control characters" },
  { name: "--base a..b names no single commit", args: ["affected", "--base", "main..HEAD"], at: ["--base main..HEAD: no such revision in"], message: "no such revision" },
  { name: "--base an empty string", args: ["affected", "--base", ""], at: ['--base "": not a revision (it is empty)'], message: "give a branch" },
  { name: "bake --affected -x is never a git option", args: ["bake", "--affected", "-x", "--dry-run"], at: ['--base "-x": not a revision'], message: 'a revision never starts with "-"' },
];

// prettier-ignore
const lockRows: Row[] = [
  { name: "bakeplan.lock.json a link to the sibling's file: lock refuses before resolving", setup: (w) => symlinkSync(join(w.sibling, "notes.json"), join(w.dir, "bakeplan.lock.json")), args: ["lock"], at: ["bakeplan.lock.json: is a link"], message: "bakeplan writes the image lock only over a lock it wrote" },
  { name: "bakeplan.lock.json a named pipe: refused unread (plan --locked)", setup: (w) => execFileSync("mkfifo", [join(w.dir, "bakeplan.lock.json")]), args: ["plan", "--locked"], at: ["bakeplan.lock.json: the image lock is a named pipe"], message: "regular files only" },
  { name: "bakeplan.lock.json a named pipe: refused unread (lock)", setup: (w) => execFileSync("mkfifo", [join(w.dir, "bakeplan.lock.json")]), args: ["lock"], at: ["bakeplan.lock.json: is not a regular file"], message: "only over a lock it wrote" },
  { name: "bakeplan.lock.json hand-written: not replaced", setup: (w) => writeFileSync(join(w.dir, "bakeplan.lock.json"), '{"mine": true}\n'), args: ["lock"], at: ["bakeplan.lock.json: version:"], message: "regenerate it with `bakeplan lock`" },
  { name: "bakeplan.lock.json with a byte that is not UTF-8", setup: (w) => writeFileSync(join(w.dir, "bakeplan.lock.json"), Buffer.from([0x7b, 0xe9, 0x7d])), args: ["plan", "--locked"], at: ["bakeplan.lock.json:1:2"], message: "bytes that are not UTF-8" },
  { name: "plan --out the image lock", args: ["plan", "--out", "bakeplan.lock.json"], at: ["bakeplan.lock.json: is the image lock"], message: "Give another --out" },
];

describe("hardening (commands): affected --write-group follows the bake file's write rules", () => {
  it.each(writeGroupRows)("$name", async (row) => void (await expectRow(row)));

  it("--write-group over its own earlier group, and dir/ for a directory, write the group", async () => {
    const w = await world();
    for (const args of [group("g.json"), group("g.json"), group("../tmp/ci/")]) {
      if (args.at(-1) === "../tmp/ci/") mkdirSync(join(w.root, "tmp/ci"));
      const res = await runCli(args, w.dir);
      expect(res.code, res.stderr).toBe(0);
    }
    expect(JSON.parse(readFileSync(join(w.dir, "g.json"), "utf8"))).toMatchObject({ group: { affected: {} } });
    expect(readFileSync(join(w.root, "tmp/ci/docker-bake.affected.json"), "utf8")).toBe(
      readFileSync(join(w.dir, "g.json"), "utf8"),
    );
  });
});

describe("hardening (commands): a revision never becomes a git option", () => {
  it.each(revisionRows)("$name", async (row) => {
    await expectRow(row);
  });
});

describe("hardening (commands): the image lock", () => {
  it.each(lockRows)("$name", async (row) => void (await expectRow(row)));
});

describe("hardening (commands): nothing from the pull request reaches the terminal raw", () => {
  const ESC_TEMPLATE =
    "FROM busybox:1\x1b[31mred AS runtime\n{% arg PYTHON_VERSION %}\nLABEL x=\x1b]0;title\x07\nFROM runtime AS dev\n";

  it("images: an ESC in a template's FROM is shown as \\u001b in the table; --json escapes it as JSON does", async () => {
    const w = await world({ [T]: ESC_TEMPLATE });
    const before = snapshotTree(w.root);
    const res = await runCli(["images"], w.dir);
    expect([res.code, res.stderr]).toEqual([0, ""]);
    expect(res.stdout).toContain("busybox:1\\u001b[31mred");
    // eslint-disable-next-line no-control-regex -- the point
    expect(res.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    const json = await runCli(["images", "--json"], w.dir);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { images: { ref: string }[] }).images[0]!.ref).toBe("busybox:1\x1b[31mred");
    expectTreeUnchanged(w.root, before);
  });

  it("affected --explain: a changed file whose name holds an ESC and a line break is shown escaped", async () => {
    const w = await world({ [T]: `${HARD_TEMPLATE}COPY . /src\n` });
    writeFileSync(join(w.dir, "context.yaml"), HARD_CONTEXT);
    writeFileSync(join(w.dir, "evil\x1b[2J\nbakeplan: 0 affected.txt"), "x");
    const before = snapshotTree(w.root);
    const res = await runCli([...AFFECTED, "--explain"], w.dir);
    expect(res.code, res.stderr).toBe(0);
    // eslint-disable-next-line no-control-regex -- the point
    expect(res.stdout + res.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(res.stdout).toContain("\\u001b[2J");
    expect(res.stdout).not.toMatch(/^bakeplan: 0 affected/m);
    expectTreeUnchanged(w.root, before);
  });
});

// A registry a pull request's FROM can name answers anything: each answer below must end as a
// located failure with nothing written, never an internal error or a lock bakeplan cannot read back.
describe("hardening (commands): a hostile registry", () => {
  let server: Server;
  let port = 0;
  let answer: (path: string, method: string) => { status: number; headers?: Record<string, string>; body?: string };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const a = answer(req.url ?? "", req.method ?? "GET");
      res.writeHead(a.status, a.headers ?? {});
      res.end(req.method === "HEAD" ? undefined : (a.body ?? ""));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
  const INDEX_TYPE = "application/vnd.oci.image.index.v1+json";
  const index = (platform: Record<string, string>) =>
    JSON.stringify({ mediaType: INDEX_TYPE, manifests: [{ digest: sha("m"), platform }] });

  // prettier-ignore
  const answers = [
    { name: "a digest header that is not sha256:<hex> (it would be a path in the next URL and a key of the lock)", reply: () => ({ status: 200, headers: { "docker-content-digest": "sha256:../../x", "content-type": INDEX_TYPE }, body: index({ os: "linux", architecture: "amd64" }) }), message: "that is not sha256:<64 hex digits>" },
    { name: "a manifest that is not JSON (not an internal error)", reply: () => ({ status: 200, headers: { "content-type": INDEX_TYPE }, body: "<html>" }), message: "is not a JSON object" },
    { name: "an index whose platform holds an ESC", reply: () => ({ status: 200, headers: { "content-type": INDEX_TYPE }, body: index({ os: "linux\x1b[2J", architecture: "amd64" }) }), message: "lists a platform that is not os/architecture[/variant]" },
    { name: "a media type with a line break", reply: () => ({ status: 200, headers: { "content-type": "text/plain" }, body: JSON.stringify({ mediaType: "x\nbakeplan: ok", config: { digest: sha("c") } }) }), message: "has a media type that is not type/subtype" },
  ];

  it.each(answers)("lock: $name", async ({ reply, message }) => {
    answer = () => reply();
    const w = await world({ [T]: HARD_TEMPLATE.replace("FROM scratch", `FROM 127.0.0.1:${port}/demo/img:1`) });
    const before = snapshotTree(w.root);
    const res = await runCli(["lock"], w.dir);
    expectRefused(res, { at: [`lock: nothing written:\n  127.0.0.1:${port}/demo/img:1: `], message });
    // eslint-disable-next-line no-control-regex -- the point
    expect(res.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(res.stderr).not.toContain("internal error");
    expectTreeUnchanged(w.root, before);
  });
});
