// An axis that does not apply everywhere (examples/dynamo's `cuda`, only for `device: cuda`) as
// `affected` and `images` see it: a change to an xpu-only layer affects exactly the xpu targets, a
// change to a CUDA version's layer never an xpu or cpu one, and each image is needed by exactly
// the targets whose device (and CUDA version, where it has one) reads it.
import { readFileSync } from "node:fs";
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
});
