import { execFileSync } from "node:child_process";
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { bakeJsonReplacer } from "../../../src/plan/bake-file.js";
import { gitRepo, isolateGit } from "../../git-helpers.js";
import { runCli, testdir } from "../../helpers.js";

isolateGit();

// framework (vllm, sglang) x target (runtime, dev). Stages: base (all), framework (per framework,
// copies its own directory), runtime, tools (only dev copies from it), dev (FROM runtime).
const CONTEXT = `project:
  name: demo
axes:
  framework:
    vllm:
      args:
        FW_REF: v1
    sglang:
      args:
        FW_REF: s1
  target:
    runtime:
      name: ""
    dev: {}
stage_axis: target
defaults:
  platforms: [linux/amd64]
  images:
    BASE_IMAGE: local/busybox:1
  args:
    SHARED_REF: "1"
    DEV_REF: d1
publish:
  registry: registry.invalid
  repository: demo/app
  tags: ["latest-{name}"]
`;

const TEMPLATES = {
  "templates/Dockerfile.liquid": `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS base
{% arg SHARED_REF %}
COPY docs/ /usr/share/doc/demo/
RUN echo shared

{% include 'framework' %}

FROM framework AS runtime
RUN echo runtime

{% include 'tools' %}

{% include 'dev' %}
`,
  "templates/framework.liquid": `FROM base AS framework
{% arg FW_REF %}
COPY {{ framework }}/ /opt/{{ framework }}/
RUN echo {{ framework }} $FW_REF
`,
  "templates/tools.liquid": `FROM base AS tools
RUN echo tools v1 > /tools.txt
`,
  "templates/dev.liquid": `FROM runtime AS dev
{% arg DEV_REF %}
COPY --from=tools /tools.txt /tools.txt
COPY requirements-dev.txt /tmp/
RUN echo dev
`,
};

const FILES = {
  "context.yaml": CONTEXT,
  ...TEMPLATES,
  ".dockerignore": "docs/*.draft.md\ncontext.yaml\ntemplates/\n",
  "docs/guide.md": "guide\n",
  "docs/notes.draft.md": "draft\n",
  "vllm/serve.py": "print('vllm')\n",
  "sglang/serve.py": "print('sglang')\n",
  "requirements-dev.txt": "pytest\n",
  "README.md": "demo\n",
};

const ALL = ["sglang", "sglang-dev", "vllm", "vllm-dev"];

async function affected(dir: string, ...args: string[]) {
  const res = await runCli(["affected", "--base", "main", ...args], dir);
  const names = res.stdout.split("\n").filter((l) => l !== "" && !l.startsWith(" "));
  return { ...res, names };
}

function project() {
  const repo = gitRepo(FILES);
  repo.git("checkout", "-q", "-b", "feature");
  return repo;
}

describe("bakeplan affected, in real git repositories", () => {
  it("nothing changed: no target", async () => {
    const repo = project();
    const res = await affected(repo.dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual([]);
    expect(res.stderr).toMatch(/0 of 4 targets affected \(base main \([0-9a-f]{7}\), head working tree\)/);
  });

  it("a framework-only ARG change affects exactly that framework's targets, with the key path and both values", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    const res = await affected(repo.dir, "--explain");
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual(["vllm", "vllm-dev"]);
    expect(res.stdout).toContain('ARG FW_REF: "v1" -> "v2" (context.yaml:7:17: axes.framework.vllm.args.FW_REF)');
  });

  it("BASE is planned with HEAD's renders where templates and template scope are the same (--verbose counts them)", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    const res = await affected(repo.dir, "--verbose");
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual(["vllm", "vllm-dev"]);
    // One render per framework: sglang's scope is HEAD's; vllm's differs only in FW_REF, which the
    // templates write only as `{% arg FW_REF %}` and bake overrides: HEAD's render, and the same result.
    expect(res.stderr).toContain(
      "bakeplan: base renders: 0 rendered, 1 reused from the head's (same template scope and texts of the templates rendered), 1 from the head's up to ARG defaults bake overrides\n",
    );
    // A template change: nothing to reuse, and the result is the same as without sharing.
    repo.commit("tools v2", {
      "templates/tools.liquid": TEMPLATES["templates/tools.liquid"].replace("tools v1", "tools v2"),
    });
    const changed = await affected(repo.dir, "--verbose");
    expect(changed.names).toEqual(["sglang-dev", "vllm", "vllm-dev"]);
    expect(changed.stderr).toContain(
      "bakeplan: base renders: 2 rendered, 0 reused from the head's (same template scope and texts of the templates rendered), 0 from",
    );
  });

  it("bake --affected plans BASE with the renders of the plan it builds, as affected does", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    // A developer's shell: with CI set, bake builds only a committed plan, which this project does not have.
    vi.stubEnv("CI", "");
    try {
      const res = await runCli(["bake", "--affected", "main", "--dry-run", "--no-preflight", "--verbose"], repo.dir);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain("bakeplan: building 2 affected targets: vllm, vllm-dev\n");
      expect(res.stderr).toContain(
        "bakeplan: base renders: 0 rendered, 1 reused from the head's (same template scope and texts of the templates rendered), 1 from",
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("the Dockerfiles a change touches share the instructions they have at the same lines (--verbose counts them)", async () => {
    const repo = project();
    const before = await affected(repo.dir, "--verbose");
    expect(before.stderr).toContain("bakeplan: changed Dockerfiles: 0 instructions read, 0 taken");
    // Both frameworks' Dockerfiles change in one instruction of their common base stage.
    repo.commit("shared", {
      "templates/Dockerfile.liquid": TEMPLATES["templates/Dockerfile.liquid"].replace(
        "RUN echo shared",
        "RUN echo shared2",
      ),
    });
    const res = await affected(repo.dir, "--verbose");
    expect(res.names).toEqual(ALL);
    const [, parsed, shared] = /changed Dockerfiles: (\d+) instructions read, (\d+) taken/
      .exec(res.stderr)!
      .map(Number);
    expect((await runCli(["plan"], repo.dir)).code).toBe(0);
    const lines = (name: string) => readFileSync(join(repo.dir, `bake/${name}.Dockerfile`), "utf8").split("\n");
    const [sglang, vllm] = [lines("sglang"), lines("vllm")];
    // Every instruction here is one line.
    const isInstruction = (l: string | undefined) => l !== undefined && /^[A-Z]+ /.test(l);
    const n = sglang.filter(isInstruction).length;
    expect(vllm.filter(isInstruction).length).toBe(n);
    const sameAtLine = vllm.filter((l, i) => isInstruction(l) && sglang[i] === l).length;
    expect(sameAtLine).toBeGreaterThan(n / 2);
    // HEAD: sglang is read whole, vllm takes each instruction sglang has at the same line. BASE:
    // each revision is read from its HEAD parse but for the changed RUN and the COPY before it, two
    // instructions each, of which the second file takes both from the first.
    expect(parsed! + shared!).toBe(2 * n + 2 * 2);
    expect(shared).toBe(sameAtLine + 1 + 2);
  });

  it("plans both revisions without serializing either bake file, which it does not write", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    const stringify = vi.spyOn(JSON, "stringify");
    const serialized = () => stringify.mock.calls.filter((c) => (c[1] as unknown) === bakeJsonReplacer).length;
    try {
      expect((await affected(repo.dir)).names).toEqual(["vllm", "vllm-dev"]);
      expect(serialized()).toBe(0);
      // What counts them: `plan` writes the bake file, serialized once.
      expect((await runCli(["plan"], repo.dir)).code).toBe(0);
      expect(serialized()).toBe(1);
    } finally {
      stringify.mockRestore();
    }
  });

  it("reads the repository in seven git processes: BASE's files are listed and read at once", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    // A git on PATH that logs each subcommand, then runs the real one.
    const bin = testdir();
    const log = join(bin, "git.log");
    const real = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
    writeFileSync(join(bin, "git"), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      expect((await affected(repo.dir, "--explain")).names).toEqual(["vllm", "vllm-dev"]);
    } finally {
      process.env.PATH = path;
    }
    const calls = readFileSync(log, "utf8").trim().split("\n");
    // The top and shallowness, both commits, the merge base, BASE's context.yaml, templates,
    // ignore files and lock candidates (one ls-tree, one cat-file), the changed and untracked files
    // (no hash-object: every tracked file's stat data matches the index).
    expect(calls.sort()).toEqual([
      "cat-file",
      "cat-file",
      "diff-index",
      "ls-files",
      "ls-tree",
      "merge-base",
      "rev-parse",
    ]);
  });

  it("a tracked file touched but not changed is not a change, and .git/index is left as it was", async () => {
    const repo = project();
    repo.commit("bump vllm", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    // vllm/serve.py's stat data no longer matches the index: porcelain `git diff` would compare its
    // content, and then rewrite .git/index with the new stat data.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(repo.dir, "vllm/serve.py"), later, later);
    // A real change next to it, which must still count.
    repo.write({ "sglang/serve.py": "print('sglang 2')\n" });
    const index = join(repo.dir, ".git/index");
    const before = { bytes: readFileSync(index), mtime: statSync(index).mtimeMs };
    const res = await affected(repo.dir, "--explain");
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual(["sglang", "sglang-dev", "vllm", "vllm-dev"]);
    expect(res.stdout).not.toContain("vllm/serve.py");
    expect(res.stdout).toContain("file sglang/serve.py (COPY sglang/ /opt/sglang/ in stage framework");
    expect(readFileSync(index).equals(before.bytes)).toBe(true);
    expect(statSync(index).mtimeMs).toBe(before.mtime);
  });

  it("the working tree is HEAD by default; --head compares a commit", async () => {
    const repo = project();
    repo.write({ "context.yaml": CONTEXT.replace("FW_REF: s1", "FW_REF: s2") });
    expect((await affected(repo.dir)).names).toEqual(["sglang", "sglang-dev"]);
    expect((await affected(repo.dir, "--head", "HEAD")).names).toEqual([]);
  });

  it("a shared template line affects exactly the targets whose built stages include it", async () => {
    const repo = project();
    repo.commit("tools v2", {
      "templates/tools.liquid": TEMPLATES["templates/tools.liquid"].replace("tools v1", "tools v2"),
    });
    const res = await affected(repo.dir, "--explain");
    expect(res.names).toEqual(["sglang-dev", "vllm-dev"]);
    expect(res.stdout).toContain("stage tools: templates/tools.liquid:2: RUN echo tools v2 > /tools.txt");

    repo.commit("shared", {
      "templates/Dockerfile.liquid": TEMPLATES["templates/Dockerfile.liquid"].replace(
        "RUN echo shared",
        "RUN echo shared again",
      ),
    });
    const all = await affected(repo.dir, "--explain");
    expect(all.names).toEqual(ALL);
    expect(all.stdout).toContain("stage base: templates/Dockerfile.liquid:5: RUN echo shared again");
  });

  it("a change in a stage only dev builds affects only dev targets, and a comment affects none", async () => {
    const repo = project();
    repo.commit("dev", {
      "templates/dev.liquid": TEMPLATES["templates/dev.liquid"].replace("RUN echo dev", "RUN echo dev tools"),
    });
    expect((await affected(repo.dir)).names).toEqual(["sglang-dev", "vllm-dev"]);

    const comment = project();
    comment.commit("comment", {
      "templates/framework.liquid": `# the framework stage\n${TEMPLATES["templates/framework.liquid"]}`,
    });
    expect((await affected(comment.dir)).names).toEqual([]);
  });

  it("an ARG only a dev stage declares affects only dev targets", async () => {
    const repo = project();
    repo.commit("dev ref", { "context.yaml": CONTEXT.replace("DEV_REF: d1", "DEV_REF: d2") });
    const res = await affected(repo.dir, "--explain");
    expect(res.names).toEqual(["sglang-dev", "vllm-dev"]);
    expect(res.stdout).toContain('ARG DEV_REF: "d1" -> "d2" (context.yaml:');
  });

  it("a COPY'd file affects its targets; a file .dockerignore matches affects none", async () => {
    const repo = project();
    repo.commit("vllm code", { "vllm/serve.py": "print('vllm 2')\n" });
    const res = await affected(repo.dir, "--explain");
    expect(res.names).toEqual(["vllm", "vllm-dev"]);
    expect(res.stdout).toContain(
      "file vllm/serve.py (COPY vllm/ /opt/vllm/ in stage framework, templates/framework.liquid:3)",
    );

    const dev = project();
    dev.commit("dev requirements", { "requirements-dev.txt": "pytest\nruff\n" });
    expect((await affected(dev.dir)).names).toEqual(["sglang-dev", "vllm-dev"]);

    const ignored = project();
    ignored.commit("draft", { "docs/notes.draft.md": "draft 2\n", "README.md": "not copied\n" });
    expect((await affected(ignored.dir)).names).toEqual([]);

    const doc = project();
    doc.commit("guide", { "docs/guide.md": "guide 2\n" });
    expect((await affected(doc.dir)).names).toEqual(ALL);
  });

  it("an untracked file in the working tree counts; a changed .dockerignore affects every target", async () => {
    const repo = project();
    repo.write({ "sglang/new.py": "x\n" });
    expect((await affected(repo.dir)).names).toEqual(["sglang", "sglang-dev"]);
    repo.write({ "sglang/new.py": null, ".dockerignore": "docs/\ncontext.yaml\ntemplates/\n" });
    const res = await affected(repo.dir, "--explain");
    expect(res.names).toEqual(ALL);
    expect(res.stdout).toContain(".dockerignore changed (every target's build context)");
  });

  it("a comment or a reordering in context.yaml affects none", async () => {
    const repo = project();
    const reordered = CONTEXT.replace(
      '  args:\n    SHARED_REF: "1"\n    DEV_REF: d1\n',
      '  args:\n    # the dev tools release\n    DEV_REF: d1\n    SHARED_REF: "1"\n',
    ).replace("project:\n  name: demo\n", "# a demo\nproject:\n  name: demo\n");
    expect(reordered).not.toBe(CONTEXT);
    repo.commit("reorder", { "context.yaml": reordered });
    const res = await affected(repo.dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual([]);
  });

  it("a new axis value adds its targets; a removed one is listed, not built", async () => {
    const repo = project();
    repo.commit("trtllm", {
      "context.yaml": CONTEXT.replace("  target:", "    trtllm:\n      args:\n        FW_REF: t1\n  target:"),
      "trtllm/serve.py": "x\n",
    });
    const res = await affected(repo.dir, "--explain");
    expect(res.names).toEqual(["trtllm", "trtllm-dev"]);
    expect(res.stdout).toContain("  new target");

    const removed = project();
    removed.commit("no sglang", {
      "context.yaml": CONTEXT.replace("    sglang:\n      args:\n        FW_REF: s1\n", ""),
    });
    const r = await affected(removed.dir);
    expect(r.names).toEqual([]);
    expect(r.stderr).toContain("removed since the base (not built): sglang, sglang-dev");
  });

  it("a BASE without context.yaml says so, and every target is affected", async () => {
    const repo = gitRepo({ "README.md": "before bakeplan\n" });
    repo.git("checkout", "-q", "-b", "feature");
    repo.commit("adopt bakeplan", FILES);
    const res = await affected(repo.dir, "--explain");
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual(ALL);
    expect(res.stderr).toContain(
      "bakeplan: note: main:context.yaml does not exist (context.yaml was added after main)",
    );
    expect(res.stdout).toContain("  base has no plan (main:context.yaml does not exist");
  });

  it("a BASE with an invalid context.yaml says so, and every target is affected", async () => {
    const repo = gitRepo({ ...FILES, "context.yaml": CONTEXT.replace("stage_axis: target", "stage_axis: tagret") });
    repo.git("checkout", "-q", "-b", "feature");
    repo.commit("fix", { "context.yaml": CONTEXT });
    const res = await affected(repo.dir, "--explain");
    expect(res.code, res.stderr).toBe(0);
    expect(res.names).toEqual(ALL);
    expect(res.stderr).toMatch(/bakeplan: note: main:context.yaml is invalid: main:context.yaml:\d+:\d+: .*tagret/);
  });

  it("--json prints a GitHub Actions matrix; --write-group writes group affected next to the bake file", async () => {
    const repo = project();
    repo.commit("bump", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    const res = await runCli(["affected", "--base", "main", "--json", "--write-group"], repo.dir);
    expect(res.code, res.stderr).toBe(0);
    const matrix = JSON.parse(res.stdout) as { include: { target: string; reasons: string[] }[] };
    expect(Object.keys(matrix)).toEqual(["include"]);
    expect(matrix.include.map((i) => i.target)).toEqual(["vllm", "vllm-dev"]);
    expect(matrix.include[0]!.reasons[0]).toContain('ARG FW_REF: "v1" -> "v2"');
    const group = JSON.parse(readFileSync(join(repo.dir, "docker-bake.affected.json"), "utf8")) as {
      group: Record<string, { targets: string[] }>;
    };
    expect(group.group).toEqual({ affected: { targets: ["vllm", "vllm-dev"] } });
    expect(res.stderr).toContain(
      "group affected (2 targets) -> docker-bake.affected.json; build it with: docker buildx bake -f docker-bake.json -f docker-bake.affected.json affected",
    );
  });

  it("reads BASE from git objects only: nothing in the repository changes", async () => {
    const repo = project();
    repo.commit("bump", { "context.yaml": CONTEXT.replace("FW_REF: v1", "FW_REF: v2") });
    const before = repo.git("status", "--porcelain", "--ignored");
    const worktrees = repo.git("worktree", "list");
    const index = readFileSync(join(repo.dir, ".git/index"));
    await affected(repo.dir);
    expect(repo.git("status", "--porcelain", "--ignored")).toBe(before);
    expect(repo.git("worktree", "list")).toBe(worktrees);
    expect(readFileSync(join(repo.dir, ".git/index")).equals(index)).toBe(true);
  });

  it("an unknown base is an error; a shallow clone without it affects every target and names fetch-depth", async () => {
    const repo = project();
    const bad = await affected(repo.dir).then(() => runCli(["affected", "--base", "nope"], repo.dir));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("bakeplan: error: --base nope: no such revision in");

    repo.commit("more", { "README.md": "x\n" });
    const clone = testdir();
    repo.git("clone", "-q", "--depth", "1", "--branch", "feature", `file://${repo.dir}`, clone);
    const res = await runCli(["affected", "--base", "origin/main"], clone);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.split("\n").filter(Boolean)).toEqual(ALL);
    expect(res.stderr).toContain("origin/main is not in this shallow clone: every target is affected");
    expect(res.stderr).toContain("fetch-depth: 0");
  });

  it("outside a git repository: a clear error", async () => {
    const dir = testdir(FILES);
    const res = await runCli(["affected", "--base", "main"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("not inside a git repository");
  });
});
