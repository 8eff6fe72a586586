// `bakeplan bake --affected REF` in a real git repository with the real engine: the e2e fixture
// with its plan committed on main, a branch that changes one target's stage, and one whose change
// affects nothing. What was built is read from --summary-json and the engine's images.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { gitRepo, isolateGit, type Repo } from "../git-helpers.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject, localImages, summaryRows, type Project, type Run } from "./e2e.js";

isolateGit();

const INPUTS = ["--registry", REGISTRY, "--branch", "main"];
const DEV_STEP = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt\n';

function ok(run: Run): Run {
  expect(run.code, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr (last 3000):\n${run.stderr.slice(-3000)}`).toBe(0);
  return run;
}

describeWithDocker("engine", "bakeplan bake --affected: a real repository, the real engine", () => {
  let p: Project;
  let repo: Repo;

  beforeAll(async () => {
    p = e2eProject();
    repo = gitRepo({}, p.dir);
    // As a project keeps it: the plan committed with its inputs on main.
    ok(await bakeplan(["plan"], { cwd: p.dir }));
    repo.commit("matrix and plan");
  });
  afterAll(() => p?.cleanup());

  it("a change that affects one target builds exactly that target", async () => {
    repo.git("checkout", "-q", "-b", "dev-patch", "main");
    const template = readFileSync(join(p.dir, "templates/Dockerfile.liquid"), "utf8");
    if (!template.includes(DEV_STEP)) throw new Error("the fixture's dev step moved");
    // A step only alpha's CUDA 12.9 dev image runs.
    repo.write({
      "templates/Dockerfile.liquid": template.replace(
        DEV_STEP,
        `${DEV_STEP}{% if framework == "alpha" and cuda == "12.9" %}RUN echo patched > /patched.txt{% endif %}\n`,
      ),
    });
    ok(await bakeplan(["plan"], { cwd: p.dir }));
    repo.commit("patch alpha's cuda 12.9 dev image");

    const affected = ok(await bakeplan(["affected", "--base", "main", "--explain"], { cwd: p.dir }));
    expect(affected.stdout.split("\n").filter((l) => l !== "" && !l.startsWith(" "))).toEqual(["alpha-cuda12-dev"]);

    const run = ok(
      await bakeplan(["bake", "--affected", "main", ...INPUTS, "--summary-json", "summary.json"], { cwd: p.dir }),
    );
    expect(run.stderr).toContain("bakeplan: building 1 affected target: alpha-cuda12-dev\n");
    expect([...summaryRows(run.stdout).keys()]).toEqual(["alpha-cuda12-dev"]);
    const summary = JSON.parse(readFileSync(join(p.dir, "summary.json"), "utf8")) as {
      targets: { target: string; status: string }[];
    };
    expect(summary.targets.map((t) => [t.target, t.status])).toEqual([["alpha-cuda12-dev", "built"]]);
    // The engine holds that target's images and no other target's.
    expect(localImages(`${REGISTRY}/${p.repository}:`).sort()).toEqual(
      [p.image("alpha-cuda12-dev", "latest"), p.image("alpha-cuda12-dev", "main")].sort(),
    );
  });

  it("a change that affects nothing builds nothing and says so in one line, exit 0", async () => {
    repo.git("checkout", "-q", "-b", "docs-only", "main");
    repo.commit("a comment and a README", {
      "README.md": "# the e2e fixture\n",
      "context.yaml": `# How the images are built.\n${readFileSync(join(p.dir, "context.yaml"), "utf8")}`,
    });
    const before = localImages(`${REGISTRY}/${p.repository}:`);
    const run = await bakeplan(["bake", "--affected", "main", ...INPUTS], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^nothing to build: no target is affected since main \([0-9a-f]{7}\)\n$/);
    expect(run.stderr).not.toMatch(/buildx bake/);
    expect(localImages(`${REGISTRY}/${p.repository}:`)).toEqual(before);
  });
});
