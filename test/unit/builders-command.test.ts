// The builder pool at the command line: `builders:` in context.yaml (rules, schema), `--builders`,
// `bakeplan builders`, and what plan, check, list and explain show and write with a pool.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadContext } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { MINI_CONTEXT, miniProject, runCli } from "../helpers.js";

// MINI_CONTEXT is 30 lines long: text appended to it starts on line 31.
const POOL = `builders:
  pool:
    - name: bk-0
    - name: bk-1
`;

function loadIssues(yaml: string): string[] {
  try {
    loadContext("context.yaml", yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.location?.line}:${i.location?.col}: ${i.message}`);
    throw e;
  }
  return [];
}

describe("builders: in context.yaml", () => {
  // prettier-ignore
  it.each([
    { name: "a builder listed twice", yaml: `${POOL}    - name: bk-0\n`, issue: '35:13: Builder "bk-0" is listed twice in builders.pool' },
    { name: "two names with one bake group", yaml: `${POOL}    - name: bk_x\n    - name: bk.x\n`, issue: '36:13: Builders "bk_x" and "bk.x" would both get the bake group "builder-bk_x"; rename one of them' },
    { name: "a name buildx would refuse", yaml: `${POOL}    - name: "-x"\n`, issue: "35:13: Invalid value: must be a buildx builder name (letters, digits, _ . -, starting with a letter or digit)" },
    { name: "an unknown key, with did-you-mean", yaml: `${POOL}    - name: bk-2\n      platfroms: [linux/amd64]\n`, issue: '36:7: Unknown key "platfroms". Did you mean "platforms"?' },
    { name: "a weight that is not a positive number", yaml: `${POOL}    - name: bk-2\n      weight: 0\n`, issue: "36:15: Invalid value: Too small: expected number to be >0" },
    { name: "a load factor below 1", yaml: `${POOL}  load_factor: 0.5\n`, issue: "35:16: Invalid value: Too small: expected number to be >=1" },
    { name: "an affinity placeholder that is not an axis", yaml: `${MINI_CONTEXT.replace("defaults:\n", 'defaults:\n  affinity: "fw-{framwork}"\n')}`, issue: '24:13: Unknown placeholder {framwork} in affinity "fw-{framwork}". Did you mean {framework}? Axes: {framework} {os} {target}' },
  ])("$name", ({ yaml, issue }) => {
    expect(loadIssues(yaml.startsWith("builders") ? `${MINI_CONTEXT}${yaml}` : yaml)).toContain(issue);
  });

  it("two layers of one rank that disagree on the affinity are an error naming both", async () => {
    const yaml = MINI_CONTEXT.replace("    vllm:\n      args:", "    vllm:\n      affinity: a\n      args:").replace(
      "    ubuntu:\n",
      "    ubuntu:\n      affinity: b\n",
    );
    const res = await runCli(["list"], miniProject({ "context.yaml": `${yaml}${POOL}` }));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'context.yaml:15:17: axes.os.ubuntu.affinity: Conflicting affinity for vllm: "a" from framework=vllm and "b" from os=ubuntu, at the same precedence. Add a combination naming both axes to decide',
    );
  });

  it("a valid pool loads: names, platforms, weights and the load factor", () => {
    const yaml = `${MINI_CONTEXT}builders:\n  load_factor: 1.5\n  pool:\n    - name: a\n      platforms: [linux/arm64]\n      weight: 2\n    - name: b\n`;
    const { project } = loadContext("context.yaml", yaml);
    expect(project.builders).toEqual({
      loadFactor: 1.5,
      builders: [
        { name: "a", platforms: ["linux/arm64"], weight: 2, path: ["builders", "pool", 0] },
        { name: "b", platforms: undefined, weight: 1, path: ["builders", "pool", 1] },
      ],
    });
  });
});

describe("--builders", () => {
  // prettier-ignore
  it.each([
    { args: ["--builders", "a,,b", "--builders", "c"], ok: true },
    { args: ["--builders", "a,a"], message: 'bakeplan: error: --builders: "a" is named twice\n' },
    { args: ["--builders", "a.b,a_b"], message: 'bakeplan: error: --builders: "a.b" and "a_b" would both get the bake group builder-a_b\n' },
    { args: ["--builders", "a,/x"], message: 'bakeplan: error: --builders a,/x: "/x" is not a builder name (letters, digits, _ . -, starting with a letter or digit)\n' },
    { args: ["--builders", ","], message: 'bakeplan: error: --builders ",": name at least one builder\n' },
  ])("$args", async ({ args, ok, message }) => {
    const dir = miniProject();
    const res = await runCli(["builders", ...args], dir);
    if (ok) expect(res.code, res.stderr).toBe(0);
    else expect(res).toEqual({ code: 2, stdout: "", stderr: message });
  });
});

describe("bakeplan builders", () => {
  it("prints each target's builder, affinity key, ranking and reason, then each builder's load", async () => {
    const dir = miniProject();
    const res = await runCli(["builders", "--builders", "bk-0,bk-1"], dir);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split("\n");
    expect(lines[0]).toMatch(/^TARGET +BUILDER +AFFINITY +RANKING +REASON$/);
    const rows = lines.slice(1, 9).map((l) => l.split(/ {2,}/));
    expect(rows.map((r) => r[0])).toEqual([
      "sglang",
      "sglang-dev",
      "sglang-ubi",
      "sglang-ubi-dev",
      "vllm",
      "vllm-dev",
      "vllm-ubi",
      "vllm-ubi-dev",
    ]);
    for (const r of rows) {
      expect(["bk-0", "bk-1"]).toContain(r[1]);
      expect(r[2]).toMatch(/^[a-z_#0-9]+@[0-9a-f]{12}$/);
      expect(r[3]).toMatch(/^bk-[01] > bk-[01]$/);
      expect(r[4]).toMatch(/^(first choice|choice 2: bk-[01] full \(\d+ \+ \d+ > cap \d+\))$/);
    }
    expect(res.stdout).toMatch(
      /\nBUILDER +WEIGHT +PLATFORMS +LOAD +CAP +TARGETS\nbk-0 +1 +any +\d+ +\d+ +\d\nbk-1 +1 +any +\d+ +\d+ +\d\n/,
    );
    expect(res.stdout).toContain("pool from --builders");
  });

  it("--json: the same, by target, with the unit, weight and where the key comes from; a selection shows only its targets", async () => {
    const dir = miniProject({ "context.yaml": `${MINI_CONTEXT}${POOL}` });
    const res = await runCli(["builders", "vllm", "--json"], dir);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as {
      loadFactor: number;
      builders: { name: string; load: number; cap: number; targets: string[] }[];
      targets: { target: string; builder: string; unit: string[]; ranking: string[]; affinitySource: string }[];
    };
    expect(report.loadFactor).toBe(1.25);
    expect(report.targets.map((t) => t.target)).toEqual(["vllm"]);
    expect(report.targets[0]!.unit).toEqual(["vllm", "vllm-dev"]);
    expect(report.targets[0]!.affinitySource).toMatch(/^stage \S+ of bake\/vllm\.Dockerfile/);
    expect(report.builders.map((b) => b.name)).toEqual(["bk-0", "bk-1"]);
    expect(report.builders.flatMap((b) => b.targets)).toEqual(["vllm"]);
  });

  it("without a pool says how to name one (exit 2)", async () => {
    const res = await runCli(["builders"], miniProject());
    expect(res).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "bakeplan: error: No builder pool: list builders under builders.pool in context.yaml, or pass --builders b1,b2\n",
    });
  });
});

describe("plan, check, list and explain with a pool", () => {
  it("a pool in context.yaml is part of the committed plan: its groups are written, and check agrees", async () => {
    const dir = miniProject({ "context.yaml": `${MINI_CONTEXT}${POOL}` });
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      group: Record<string, { targets: string[] }>;
    };
    const groups = Object.keys(bake.group).filter((g) => g.startsWith("builder-"));
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.flatMap((g) => bake.group[g]!.targets).sort()).toEqual(bake.group.all!.targets);
    expect((await runCli(["check"], dir)).code).toBe(0);
  });

  it("--builders on plan writes that pool's groups; check without it reports the drift, check with it passes", async () => {
    const dir = miniProject();
    expect((await runCli(["plan", "--builders", "x,y"], dir)).code).toBe(0);
    const text = readFileSync(join(dir, "docker-bake.json"), "utf8");
    expect(text).toMatch(/"builder-(x|y)"/);
    expect((await runCli(["check", "--builders", "x,y"], dir)).code).toBe(0);
    const drift = await runCli(["check"], dir);
    expect(drift.code).toBe(1);
    expect(drift.stdout + drift.stderr).toMatch(/-\s+"builder-(x|y)"/);
    // The up-to-date state knows --builders: a plan without it writes the bake file again.
    const again = await runCli(["plan"], dir);
    expect(again.stdout).toContain("1 written");
    expect(readFileSync(join(dir, "docker-bake.json"), "utf8")).not.toContain('"builder-');
  });

  it("list adds BUILDER and AFFINITY columns; --json adds builder and affinity", async () => {
    const dir = miniProject({ "context.yaml": `${MINI_CONTEXT}${POOL}` });
    const res = await runCli(["list"], dir);
    expect(res.stdout.split("\n")[0]).toMatch(/ DOCKERFILE +BUILDER +AFFINITY$/);
    const json = JSON.parse((await runCli(["list", "--json"], dir)).stdout) as { builder: string; affinity: string }[];
    for (const row of json) {
      expect(["bk-0", "bk-1"]).toContain(row.builder);
      expect(row.affinity).toMatch(/@[0-9a-f]{12}$/);
    }
    // Without a pool nothing changes.
    expect((await runCli(["list"], miniProject())).stdout.split("\n")[0]).toMatch(/ DOCKERFILE$/);
  });

  it("explain shows the builder with its ranking and reason, and the affinity with where it comes from", async () => {
    const yaml = `${MINI_CONTEXT.replace("defaults:\n", 'defaults:\n  affinity: "{framework}-builds"\n')}${POOL}`;
    const dir = miniProject({ "context.yaml": yaml });
    const res = await runCli(["explain", "vllm-ubi"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/\n {2}builder: bk-[01] \((first choice|choice 2: .*); ranking bk-[01] > bk-[01]\)\n/);
    expect(res.stdout).toContain(
      "\n  affinity: vllm-builds (set at context.yaml:24:13: defaults.affinity (layer defaults))\n    builds with: vllm-ubi-dev\n",
    );
  });
});
