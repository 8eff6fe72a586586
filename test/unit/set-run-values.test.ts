// --set in a plan whose bake file goes elsewhere (`plan --out`) and in `bake`: the values reach the
// build as the bake file's args (and the secrets they select); the project's committed Dockerfiles
// are never rewritten with them. A --set that changes a Dockerfile beyond an ARG default is refused.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { exampleCopy, runCli } from "../helpers.js";

type Bake = { target: Record<string, { args?: Record<string, string>; dockerfile: string; secret?: string[] }> };

/** Every file of the plan as it is on disk: bake/*.Dockerfile and the bake file. */
function planFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = { "docker-bake.json": readFileSync(join(dir, "docker-bake.json"), "utf8") };
  for (const f of readdirSync(join(dir, "bake")).sort()) out[`bake/${f}`] = readFileSync(join(dir, "bake", f), "utf8");
  return out;
}

describe("plan --out FILE --set NAME=VALUE", () => {
  it("leaves the committed Dockerfiles alone; the bake file at FILE builds them with the value as a bake arg", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = planFiles(dir);
    const res = await runCli(["plan", "--out", "run.json", "--set", "VLLM_REF=v9.9.9", "--branch", "main"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("18 targets, 6 Dockerfiles -> run.json");
    expect(planFiles(dir)).toEqual(committed);
    const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as Bake;
    const plain = JSON.parse(committed["docker-bake.json"]!) as Bake;
    for (const [name, t] of Object.entries(run.target)) {
      expect(t.dockerfile, name).toBe(plain.target[name]!.dockerfile);
      if (name.startsWith("vllm-")) expect(t.args!.VLLM_REF, name).toBe("v9.9.9");
      else expect(t.args, name).toEqual(plain.target[name]!.args);
    }
    // Without --out, --set changes the committed plan, as asked.
    expect((await runCli(["plan", "--set", "VLLM_REF=v9.9.9"], dir)).code).toBe(0);
    expect(readFileSync(join(dir, "bake/vllm-cuda12.Dockerfile"), "utf8")).toContain("ARG VLLM_REF=v9.9.9\n");
  });

  it("refuses a --set that changes a Dockerfile beyond an ARG default (a template value), and writes nothing", async () => {
    const dir = exampleCopy("python");
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = planFiles(dir);
    const res = await runCli(["plan", "--out", "run.json", "--set", "vars.full=3.14.3", "--only", "version=3.14"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      "bakeplan: error: --set vars.full changes what the Dockerfiles hold, not only an ARG default (bake/3_14-alpine3_23.Dockerfile:18, bake/3_14-slim-trixie.Dockerfile:21, bake/3_14-trixie.Dockerfile:21): a plan with --out writes its bake file there, but its Dockerfiles into the project's bake/, where they keep the values of context.yaml. Run `bakeplan plan --set ...` without --out to change the committed plan, or set the value in context.yaml",
    );
    expect(existsSync(join(dir, "run.json"))).toBe(false);
    expect(planFiles(dir)).toEqual(committed);
  });
});

describe("bake --set NAME=VALUE", () => {
  let ci: string | undefined;
  beforeEach(() => {
    ci = process.env.CI;
  });
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it("in CI: builds the committed plan with the value and the secrets it selects in the override (Dynamo's sccache)", async () => {
    const dir = exampleCopy("dynamo");
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = planFiles(dir);
    process.env.CI = "true";
    const res = await runCli(
      ["bake", "vllm-cuda12", "--dry-run", "--set", "USE_SCCACHE=true", "--branch", "main"],
      dir,
    );
    expect(res.code, res.stderr).toBe(0);
    const override = JSON.parse(/<<'EOF'\n([\s\S]*?)EOF\n/.exec(res.stdout)![1]!) as Bake;
    const t = override.target["vllm-cuda12"]!;
    expect(t.args).toEqual({ USE_SCCACHE: "true" });
    expect(t.secret).toEqual(["id=aws-key-id,env=AWS_ACCESS_KEY_ID", "id=aws-secret-id,env=AWS_SECRET_ACCESS_KEY"]);
    expect(t.dockerfile).toBeUndefined();
    expect(planFiles(dir)).toEqual(committed);
  });

  it("outside CI: writes nothing of the value into the tree", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = planFiles(dir);
    delete process.env.CI;
    const res = await runCli(["bake", "vllm-cuda12", "--dry-run", "--set", "VLLM_REF=v9.9.9"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toContain("out of date");
    expect(res.stdout).toContain('"VLLM_REF": "v9.9.9"');
    expect(planFiles(dir)).toEqual(committed);
  });

  it("refuses a --set that changes a Dockerfile beyond an ARG default, saying what to do", async () => {
    const dir = exampleCopy("python");
    expect((await runCli(["plan"], dir)).code).toBe(0);
    process.env.CI = "true";
    const res = await runCli(["bake", "3_13-trixie", "--dry-run", "--set", "vars.gpg_key=0123456789ABCDEF"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^bakeplan: error: --set vars.gpg_key changes what the Dockerfiles hold, not only an ARG default \(bake\/3_12-alpine3_23.Dockerfile:\d+, bake\/3_12-slim-trixie.Dockerfile:\d+, bake\/3_12-trixie.Dockerfile:\d+ and 6 more\): /,
    );
    expect(res.stderr).toContain(
      "bake builds the committed Dockerfiles and passes this run's values as bake args. Set the value in context.yaml (or write the plan with `bakeplan plan --set ...` and build it with `docker buildx bake`)",
    );
  });
});
