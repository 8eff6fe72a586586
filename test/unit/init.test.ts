// `bakeplan init`: the scaffold plans as it is, never overwrites a file, and its workflow is the
// one docs/ci.md shows (one text, checked here).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectName, scaffoldFiles } from "../../src/commands/init.js";
import { REPO, runCli, testdir } from "../helpers.js";

const FILES = ["context.yaml", "templates/Dockerfile.liquid", "bakeplan.mk", ".github/workflows/images.yml"];

describe("bakeplan init", () => {
  it("scaffolds a project that plans and checks at once, named after its directory", async () => {
    const dir = join(testdir(), "My App");
    const res = await runCli(["init", dir]);
    expect(res.code, res.stderr).toBe(0);
    for (const f of FILES) expect(existsSync(join(dir, f)), f).toBe(true);
    const context = readFileSync(join(dir, "context.yaml"), "utf8");
    expect(context.split("\n")[0]).toBe("# yaml-language-server: $schema=./node_modules/bakeplan/context.schema.json");
    expect(context).toContain("  name: my-app\n");
    const plan = await runCli(["plan"], dir);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("2 targets, 1 Dockerfile -> docker-bake.json");
    expect(plan.stderr).toBe("");
    expect((await runCli(["check"], dir)).code).toBe(0);
    const list = await runCli(["list", "--json"], dir);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((t) => t.name)).toEqual(["ubuntu24", "ubuntu24-dev"]);
  });

  it("refuses to overwrite: names every file that exists and writes nothing", async () => {
    const dir = testdir({ "bakeplan.mk": "mine\n", ".github/workflows/images.yml": "mine\n" });
    const res = await runCli(["init"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "bakeplan: error: init writes nothing: bakeplan.mk, .github/workflows/images.yml already exist; move them away or run init in another directory\n",
    );
    expect(existsSync(join(dir, "context.yaml"))).toBe(false);
    expect(existsSync(join(dir, "templates"))).toBe(false);
    expect(readFileSync(join(dir, "bakeplan.mk"), "utf8")).toBe("mine\n");
  });

  it("checks --name, --registry and --repository before writing (exit 2)", async () => {
    const dir = testdir();
    const res = await runCli(["init", "--repository", "Bad/Repo", "--registry", "not a host"], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^bakeplan: error: --repository: Invalid repository "Bad\/Repo".*; --registry: /);
    expect(existsSync(join(dir, "context.yaml"))).toBe(false);
  });

  it.each([
    ["/x/My App", "my-app"],
    ["/x/__", "app"],
    ["/x/dynamo.images", "dynamo-images"],
  ])("names %s %s", (dir, name) => {
    expect(projectName(dir)).toBe(name);
  });

  it("the workflow in docs/ci.md is the one init writes, for the bundled example's registry", () => {
    const docs = readFileSync(join(REPO, "docs/ci.md"), "utf8");
    const block = /^```yaml\n(name: images\n[\s\S]*?)^```$/m.exec(docs)?.[1];
    expect(block).toBe(
      scaffoldFiles({
        name: "dynamo",
        registry: "123456789012.dkr.ecr.us-west-2.amazonaws.com",
        repository: "ai-dynamo/dynamo",
      }).get(".github/workflows/images.yml"),
    );
  });
});
