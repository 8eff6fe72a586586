// The affected benchmark (npm run bench:affected): `bakeplan affected --base main` against one
// `bakeplan plan` on the Dynamo-shape matrix of bench/generate.mjs (396 variants, 239 Dockerfiles),
// in a git repository made here: main holds the matrix, the branch bumps one framework's ARG.
// Prints the figures; asserts nothing. Goal: affected costs at most 2x one plan.
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generate, REPO, SHAPES } from "./generate.mjs";

const REPS = Number(process.argv[process.argv.indexOf("--reps") + 1]) || 5;
const BIN = join(REPO, "bin/bakeplan.js");
const dir = join(REPO, ".bench", "affected");
const env = {
  ...process.env,
  BAKEPLAN_CACHE_DIR: join(REPO, ".bench", "state"),
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
};
const git = (...args) => execFileSync("git", args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] }).toString();

generate(dir, SHAPES.dynamo);
// As a real project would: generated files and bakeplan's inputs are not build-context files.
writeFileSync(join(dir, ".dockerignore"), "bake/\ndocker-bake*.json\ndocker-bake.hcl\ncontext.yaml\ntemplates/\n");
git("init", "-q", "-b", "main");
git("add", "-A");
git("commit", "-q", "-m", "matrix");
git("checkout", "-q", "-b", "bump");
const cfg = join(dir, "context.yaml");
const yaml = readFileSync(cfg, "utf8");
if (!yaml.includes("VLLM_REF: v0.19.1")) throw new Error("the generated context.yaml has no VLLM_REF: v0.19.1");
writeFileSync(cfg, yaml.replace("VLLM_REF: v0.19.1", "VLLM_REF: v0.20.0"));
git("commit", "-q", "-am", "bump vLLM");

function run(args, extraEnv = {}) {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...env, ...extraEnv }, encoding: "utf8" });
  const wall = performance.now() - t0;
  if (res.status !== 0) throw new Error(`bakeplan ${args.join(" ")}: exit ${res.status}\n${res.stderr}`);
  return { wall, stdout: res.stdout, stderr: res.stderr };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const plans = [];
const replans = [];
const affected = [];
let last;
for (let i = 0; i < REPS; i++) {
  rmSync(join(dir, "bake"), { recursive: true, force: true });
  rmSync(join(dir, "docker-bake.json"), { force: true });
  plans.push(run(["plan"], { BAKEPLAN_NO_CACHE: "1" }).wall);
  replans.push(run(["plan"], { BAKEPLAN_NO_CACHE: "1" }).wall);
  last = run(["affected", "--base", "main"]);
  affected.push(last.wall);
}
const names = last.stdout.split("\n").filter(Boolean);
const plan = median(plans);
const replan = median(replans);
const aff = median(affected);
console.log(`affected on the Dynamo shape (${REPS} repetitions, medians; one framework's ARG bumped)`);
console.log(`  bakeplan plan, fresh output:              ${plan.toFixed(0)} ms`);
console.log(`  bakeplan plan over existing files:        ${replan.toFixed(0)} ms`);
console.log(`  bakeplan affected --base main:            ${aff.toFixed(0)} ms  (${names.length} targets affected)`);
console.log(`  affected / fresh plan:                    ${(aff / plan).toFixed(2)}x  (goal: at most 2x)`);
console.log(`  affected / plan over existing files:      ${(aff / replan).toFixed(2)}x`);
console.log(`  ${last.stderr.trim().split("\n").pop()}`);
