// An axis that does not apply everywhere (examples/dynamo's `cuda`, only for `device: cuda`) as
// `affected`, `images` and `builders` see it: a change to an xpu-only layer affects exactly the xpu
// targets, a change to a CUDA version's layer never an xpu or cpu one, each image is needed by
// exactly the targets whose device (and CUDA version, where it has one) reads it, and the builder
// pool places every target, an absent CUDA version filling an affinity placeholder with "".
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { gitRepo, isolateGit } from "../git-helpers.js";
import { exampleCopy, runCli } from "../helpers.js";

isolateGit();

interface Listed {
  name: string;
  values: Record<string, string | null>;
}

async function targets(dir: string): Promise<Listed[]> {
  const res = await runCli(["list", "--json"], dir);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as Listed[]).filter((t) => (t as Listed & { built: boolean }).built);
}

function dynamoRepo() {
  const dir = exampleCopy("dynamo");
  // The example's base stage COPYs the whole build context: keep the build inputs out of it, as a
  // real project's .dockerignore does, so a context.yaml edit counts only through what it sets.
  const repo = gitRepo({ ".dockerignore": "context.yaml\ntemplates/\n" }, dir);
  repo.git("checkout", "-q", "-b", "feature");
  return repo;
}

async function affectedNames(dir: string): Promise<string[]> {
  const res = await runCli(["affected", "--base", "main", "--json"], dir);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { include: { target: string }[] }).include.map((i) => i.target).sort();
}

describe("an axis that does not apply everywhere, in affected and images (examples/dynamo)", () => {
  it("affected: an xpu-only layer affects exactly the xpu targets; a CUDA version's layer none without that version", async () => {
    const repo = dynamoRepo();
    const all = await targets(repo.dir);
    const xpu = all.filter((t) => t.values.device === "xpu").map((t) => t.name);
    expect(xpu.length).toBeGreaterThan(0);
    const context = readFileSync(join(repo.dir, "context.yaml"), "utf8");

    const xpuBump = context.replace("VLLM_REF: v0.17.1", "VLLM_REF: v0.17.2");
    expect(xpuBump).not.toBe(context);
    repo.write({ "context.yaml": xpuBump });
    expect(await affectedNames(repo.dir)).toEqual(xpu.sort());

    // CUDA 12.9's base image: only targets whose cuda is 12.9 (never one where cuda is absent).
    const cuda12 = all.filter((t) => t.values.cuda === "12.9").map((t) => t.name);
    const cudaBump = context.replace("cuda-dl-base:25.06-cuda12.9-devel", "cuda-dl-base:25.07-cuda12.9-devel");
    expect(cudaBump).not.toBe(context);
    repo.write({ "context.yaml": cudaBump });
    const got = await affectedNames(repo.dir);
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((t) => cuda12.includes(t))).toBe(true);
    expect(got.some((t) => all.find((a) => a.name === t)!.values.cuda === null)).toBe(false);
  });

  it("images: each device's base image is needed by exactly the targets of that device", async () => {
    const dir = exampleCopy("dynamo");
    const all = await targets(dir);
    const res = await runCli(["images", "--json"], dir);
    expect(res.code, res.stderr).toBe(0);
    const list = JSON.parse(res.stdout) as { images: { ref: string; targets: Record<string, string[]> }[] };
    const users = (ref: string) => Object.keys(list.images.find((i) => i.ref === ref)?.targets ?? {}).sort();
    const of = (device: string) =>
      all
        .filter((t) => t.values.device === device)
        .map((t) => t.name)
        .sort();
    expect(users("intel/deep-learning-essentials:2025.3.2-0-devel-ubuntu24.04")).toEqual(of("xpu"));
    // No reference is built from an absent value (an empty tag or a CUDA placeholder left over).
    for (const { ref } of list.images) expect(ref, ref).not.toMatch(/:$|cuda-?(null|undefined)|\$\{/);
    // A CUDA base image is needed only by targets that have that CUDA version.
    const cuda12 = all.filter((t) => t.values.cuda === "12.9").map((t) => t.name);
    const needing = users("nvcr.io/nvidia/cuda-dl-base:25.06-cuda12.9-devel-ubuntu24.04");
    expect(needing.length).toBeGreaterThan(0);
    expect(needing.every((t) => cuda12.includes(t))).toBe(true);
  });

  it("builders: every target is placed, and an affinity placeholder of the absent axis is empty", async () => {
    const dir = exampleCopy("dynamo");
    const all = await targets(dir);
    const context = readFileSync(join(dir, "context.yaml"), "utf8");
    // A load factor no builder reaches, so every unit goes to its first choice: targets with one
    // key then share a builder, whatever else the pool holds.
    const withPool = context.replace(
      "\ndefaults:\n",
      '\nbuilders:\n  pool: [{name: a}, {name: b}, {name: c}, {name: amd, platforms: [linux/amd64]}]\n  load_factor: 100\n\ndefaults:\n  affinity: "{framework}-{device}-{cuda}"\n',
    );
    expect(withPool).not.toBe(context);
    writeFileSync(join(dir, "context.yaml"), withPool);
    const res = await runCli(["builders", "--json"], dir);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as {
      targets: { target: string; builder: string; affinity: string; reason: string }[];
    };
    expect(report.targets.map((t) => t.target).sort()).toEqual(all.map((t) => t.name).sort());
    const values = (name: string) => all.find((t) => t.name === name)!.values;
    for (const t of report.targets) {
      const v = values(t.target);
      expect(t.affinity, t.target).toBe(`${v.framework}-${v.device}-${v.cuda ?? ""}`);
      expect(t.reason, t.target).toBe("first choice");
    }
    const byKey = new Map<string, Set<string>>();
    for (const t of report.targets) byKey.set(t.affinity, (byKey.get(t.affinity) ?? new Set()).add(t.builder));
    for (const [key, builders] of byKey) expect([...builders], key).toHaveLength(1);
    // The cpu and xpu targets have keys of their own, neither one of a CUDA version's.
    expect(byKey.get("vllm-xpu-")).toBeDefined();
    expect(byKey.get("vllm-cpu-")).toBeDefined();
    expect(byKey.get("dynamo-cpu-")).toBeDefined();
    // A multi-platform target never lands on the amd64-only builder.
    for (const t of report.targets)
      if (t.builder === "amd") expect(values(t.target).platform, t.target).not.toBe("multi");

    // The text table says the same, and the derived keys (no affinity set) place every target too.
    writeFileSync(join(dir, "context.yaml"), withPool.replace('  affinity: "{framework}-{device}-{cuda}"\n', ""));
    const derived = await runCli(["builders", "vllm-xpu-amd64", "vllm-cpu-amd64", "dynamo-cpu-planner"], dir);
    expect(derived.code, derived.stderr).toBe(0);
    const rows = derived.stdout
      .split("\n")
      .slice(1, 4)
      .map((l) => l.split(/ {2,}/));
    expect(rows.map((r) => r[0])).toEqual(["dynamo-cpu-planner", "vllm-cpu-amd64", "vllm-xpu-amd64"]);
    for (const r of rows) expect(r[2], r[0]).toMatch(/^[a-z_#0-9]+@[0-9a-f]{12}$/);
  });
});
