import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { exampleCopy, runCli } from "../helpers.js";
import { describeWithDocker } from "./docker.js";
import { bakePrint, expectPrintedAsPlanned, printDryRun, type Printed } from "./print-plan.js";

type Target = Record<string, unknown>;

/**
 * The targets of `buildx bake --print`, cache-from in a fixed order: bake appends a later file's
 * refs after the committed ones, and BuildKit imports every ref of the list, whatever its order.
 */
function byCacheRef({ target }: Printed): Record<string, Target> {
  for (const t of Object.values(target))
    if (Array.isArray(t["cache-from"]))
      (t["cache-from"] as { ref: string }[]).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  return target;
}

describeWithDocker("buildx", "docker buildx bake --print over the bundled example", () => {
  it.each([
    { name: "local plan", flags: [] as string[] },
    {
      name: "main branch build with version and sha",
      flags: ["--branch", "main", "--sha", "0123456789abcdef0123456789abcdef01234567", "--image-version", "1.2.0"],
    },
    {
      name: "feature branch with a value containing ${...}",
      flags: ["--branch", "feat/x", "--set", "TENSORRTLLM_PIP_WHEEL=tensorrt-llm==${TRT_VER:-1.3.0rc11}%{x}"],
    },
  ])("buildx reads back every target as planned: $name", async ({ flags }) => {
    const dir = exampleCopy();
    const res = await runCli(["plan", ...flags], dir);
    expect(res.code, res.stderr).toBe(0);
    const planned = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as Printed;
    const printed = bakePrint(dir, ["-f", "docker-bake.json", "all"]);
    expectPrintedAsPlanned(planned, printed);
    if (flags.includes("--set"))
      expect((printed.target["trtllm-cuda13"]!.args as Record<string, string>).TENSORRTLLM_PIP_WHEEL).toBe(
        "tensorrt-llm==$${TRT_VER:-1.3.0rc11}%%{x}",
      );
  });

  it.each([
    ["--branch", "main", "--sha", "0123456789abcdef0123456789abcdef01234567", "--image-version", "1.2.0"],
    ["--branch", "feat/x"],
    ["--branch", "main", "--registry", "127.0.0.1:5000"],
    ["--branch", "feat/x", "--cache-warm"],
  ])("the committed plan plus bakeplan's override file is, to buildx, the plan of this run: %s", async (...flags) => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = readFileSync(join(dir, "docker-bake.json"), "utf8");
    const dry = await runCli(["bake", "all", "--dry-run", ...flags], dir);
    expect(dry.code, dry.stderr).toBe(0);
    const merged = byCacheRef(printDryRun(dir, dry.stdout));
    expect(readFileSync(join(dir, "docker-bake.json"), "utf8")).toBe(committed);

    const want = exampleCopy();
    const inputs = flags.filter((f) => f !== "--cache-warm");
    expect((await runCli(["plan", "--out", "wanted.json", ...inputs], want)).code).toBe(0);
    const wanted = byCacheRef(bakePrint(want, ["-f", "wanted.json", "all"]));
    expect(Object.keys(merged).sort()).toEqual(Object.keys(wanted).sort());
    for (const [name, t] of Object.entries(wanted)) {
      if (flags.includes("--cache-warm")) {
        // Cache only, and each target writes its own ref even where the plan only reads it.
        t.output = [{ type: "cacheonly" }];
        t["cache-to"] = [
          {
            type: "registry",
            ref: `123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo-cache:${name}-feat-x`,
            mode: "max",
            "image-manifest": "true",
            "oci-mediatypes": "true",
            "ignore-error": "true",
          },
        ];
      }
      expect(merged[name], name).toEqual(t);
    }
  });

  it("--list targets shows each target's description, from the axis values' descriptions", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const listed = JSON.parse(
      execFileSync("docker", ["buildx", "bake", "--list", "type=targets,format=json"], {
        cwd: dir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ) as { name: string; description?: string; group?: boolean }[];
    const targets = listed.filter((t) => !t.group);
    expect(targets).toHaveLength(18);
    expect(targets.find((t) => t.name === "vllm-cuda12-ubi9-dev")?.description).toBe(
      "framework vllm, cuda 12.9, os ubi9, runtime plus build and debug tools",
    );
    const table = execFileSync("docker", ["buildx", "bake", "--list", "targets"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(table).toMatch(/^vllm-cuda12\s+framework vllm, cuda 12\.9, os ubuntu24\.04, slim serving image$/m);
  });

  it("vllm-cuda12 alone shows its stage, args, platforms, tags and cache entries", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan", "--branch", "main"], dir)).code).toBe(0);
    const printed = bakePrint(dir, ["vllm-cuda12"]);
    expect(Object.keys(printed.target)).toEqual(["vllm-cuda12"]);
    const t = printed.target["vllm-cuda12"]!;
    expect(t.target).toBe("runtime");
    expect(t.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect((t.args as Record<string, string>).VLLM_REF).toBe("v0.19.1");
    expect(t.tags).toContain("123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo:main-vllm-cuda12");
    expect(t["cache-to"]).toEqual([
      {
        type: "registry",
        ref: "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo-cache:vllm-cuda12-main",
        mode: "max",
        "image-manifest": "true",
        "oci-mediatypes": "true",
        "ignore-error": "true",
      },
    ]);
  });
});
