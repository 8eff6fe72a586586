import { execa, type ResultPromise } from "execa";
import { BuildxError } from "../errors.js";
import { canonical, parseReference } from "../images/reference.js";

/** The argv after `docker`, as data (testable without running anything). */
export interface BakeCommand {
  /** `docker --context X`: how a `docker`-driver builder of another engine is reached (it refuses `--builder` from another context). */
  context?: string;
  file: string;
  /** A second bake file merged over the first (bakeplan's override of this run's settings). */
  overrideFile?: string;
  targets: string[];
  push?: boolean;
  load?: boolean;
  builder?: string;
  metadataFile?: string;
  progress?: string;
  call?: string;
  /** `--set` overrides, e.g. `*.output=type=cacheonly`. */
  sets?: string[];
  /** Passed through after everything bakeplan adds. */
  extra?: string[];
  /** Entitlements (`fs.read=PATH`), each passed as `--allow=...`. */
  allow?: string[];
}

export function bakeArgv(c: BakeCommand): string[] {
  const argv = [...(c.context ? ["--context", c.context] : []), "buildx", "bake", "-f", c.file];
  if (c.overrideFile) argv.push("-f", c.overrideFile);
  if (c.builder) argv.push("--builder", c.builder);
  if (c.progress) argv.push(`--progress=${c.progress}`);
  if (c.metadataFile) argv.push("--metadata-file", c.metadataFile);
  if (c.call) argv.push(`--call=${c.call}`);
  for (const a of c.allow ?? []) argv.push(`--allow=${a}`);
  if (c.push) argv.push("--push");
  if (c.load) argv.push("--load");
  for (const s of c.sets ?? []) argv.push("--set", s);
  argv.push(...(c.extra ?? []));
  argv.push(...c.targets);
  return argv;
}

export interface BuildxInfo {
  version: string;
  /** [major, minor, patch] */
  semver: [number, number, number];
}

/** `github.com/docker/buildx v0.29.1 a9cb4...` -> 0.29.1; Debian builds print `0.29.1+ds1-1`. */
export function parseBuildxVersion(stdout: string): BuildxInfo | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) return undefined;
  return { version: `${m[1]}.${m[2]}.${m[3]}`, semver: [Number(m[1]), Number(m[2]), Number(m[3])] };
}

export function versionAtLeast(v: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
  return true;
}

const HOW_TO_GET =
  "install Docker with the buildx plugin (https://docs.docker.com/build/install-buildx/), or run `make docker-up` in the bakeplan repository for a local engine";

/** Runs `docker <argv>` quietly and captures its output; only a failure to start it is an error here. */
async function docker(argv: string[]): Promise<{ argv: string[]; exitCode: number; stdout: string; stderr: string }> {
  const res = await execa("docker", argv, { reject: false });
  if (res.exitCode === undefined || (res.failed && /ENOENT/.test(String(res.message))))
    throw new BuildxError(`docker not found on PATH: ${HOW_TO_GET}`, { argv });
  return { argv, exitCode: res.exitCode, stdout: String(res.stdout), stderr: String(res.stderr) };
}

/** A check before the build failed (exit 1), with the end of what docker printed. */
function checkFailed(message: string, res: { argv: string[]; stderr: string }, output = res.stderr): BuildxError {
  return new BuildxError(message, { argv: res.argv, stderrTail: stderrTail(output) });
}

export async function probeBuildx(min: [number, number, number], builder?: string): Promise<BuildxInfo> {
  const res = await docker(["buildx", ...(builder ? ["--builder", builder] : []), "version"]);
  if (res.exitCode !== 0) throw checkFailed(`docker buildx is not available: ${HOW_TO_GET}`, res);
  const info = parseBuildxVersion(res.stdout);
  if (!info) throw checkFailed("cannot read the buildx version from its output", res, res.stdout);
  if (!versionAtLeast(info.semver, min))
    throw new BuildxError(
      `buildx ${info.version} is too old: this plan needs buildx >= ${min.join(".")}. Upgrade: ${HOW_TO_GET}`,
      { argv: res.argv },
    );
  return info;
}

/** What a plan needs of the builder, checked before the build (docs/errors.md lists the messages). */
export interface BuilderNeeds {
  /** The build exports registry cache (cache-to, --cache-warm). */
  cacheExport: boolean;
  /** Some target runs its RUN steps on the default network (`build.network` unset or `default`). */
  bridgeNetwork: boolean;
}

/**
 * Fails with the fix when the builder cannot do what the plan needs, instead of an error deep in
 * the build: the default `docker` driver exports registry cache only with the containerd image
 * store (buildx build/opt.go: CacheExport = useContainerdSnapshotter), and runs RUN steps on the
 * engine's `bridge` network (BuildKit: "network bridge not found" when dockerd has `bridge: none`).
 * Other drivers run BuildKit in their own container or pod, with its own network and cache export.
 */
export async function checkBuilder(needs: BuilderNeeds, builder?: string): Promise<void> {
  if (!needs.cacheExport && !needs.bridgeNetwork) return;
  const inspect = await docker(["buildx", "inspect", ...(builder ? [builder] : [])]);
  if (inspect.exitCode !== 0) throw checkFailed("docker buildx inspect failed", inspect);
  if (/^Driver:[ \t]*(\S+)/m.exec(inspect.stdout)?.[1] !== "docker") return;
  // A docker-driver builder is a docker context of the same name.
  const context = builder ? ["--context", builder] : [];
  if (needs.bridgeNetwork) {
    const networks = await docker([...context, "network", "ls", "--filter", "driver=bridge", "--format", "{{.Name}}"]);
    if (networks.exitCode === 0 && !networks.stdout.split("\n").includes("bridge"))
      throw new BuildxError(
        "the builder uses the docker driver on an engine without a bridge network, where RUN steps on the default network fail (network bridge not found). Fix one of:\n" +
          "  - if the build needs no network: set `build.network: none` in context.yaml\n" +
          '  - give dockerd its bridge network: remove "bridge": "none" from its daemon.json (or --bridge=none from its command line) and restart it\n' +
          "  - use a docker-container builder: docker buildx create --name bakeplan --driver docker-container --use (or pass --builder NAME)",
        { argv: networks.argv },
      );
  }
  if (needs.cacheExport) {
    const info = await docker([...context, "info", "--format", "{{json .DriverStatus}}"]);
    if (info.exitCode === 0 && info.stdout.includes("io.containerd.snapshotter")) return;
    throw new BuildxError(
      "the builder uses the docker driver without the containerd image store, which cannot export registry cache (the plan writes cache). Fix one of:\n" +
        '  - enable the containerd image store: add {"features": {"containerd-snapshotter": true}} to /etc/docker/daemon.json and restart dockerd\n' +
        "  - use a docker-container builder: docker buildx create --name bakeplan --driver docker-container --use (or pass --builder NAME)",
      { argv: info.argv },
    );
  }
}

export interface RunResult {
  exitCode: number;
  /** stderr as captured (it also streamed live). */
  stderr: string;
  interrupted: boolean;
  /** Stopped through `signal` (another builder's bake failed). */
  canceled?: boolean;
}

/** Runs `docker <argv>` with live output, never through a shell; Ctrl-C stops buildx. */
export async function runDocker(
  argv: string[],
  opts: {
    cwd: string;
    captureStdout?: boolean;
    quiet?: boolean;
    /** Variables added to docker's environment. */
    env?: Record<string, string>;
    /** stderr is the terminal itself (nothing captured), so buildx shows its live view. */
    terminal?: boolean;
    /** Receives stderr line by line instead of the terminal (and of `stderr`). */ onStderrLine?: (
      line: string,
    ) => void;
    /** Aborting it stops docker (SIGTERM, SIGKILL 5 s later). */
    signal?: AbortSignal;
  },
): Promise<RunResult & { stdout: string }> {
  let child: ResultPromise | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    child?.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    child = execa("docker", argv, {
      cwd: opts.cwd,
      env: opts.env,
      reject: false,
      stdin: "inherit",
      stdout: opts.captureStdout ? "pipe" : "inherit",
      stderr: opts.onStderrLine
        ? lineSink(opts.onStderrLine)
        : opts.quiet
          ? "pipe"
          : opts.terminal
            ? "inherit"
            : ["inherit", "pipe"],
      cancelSignal: opts.signal,
    });
    const res = await child;
    if (res.exitCode === undefined && res.signal === undefined && !interrupted && !res.isCanceled)
      throw new BuildxError(`docker could not be started (${res.message}): ${HOW_TO_GET}`, { argv });
    return {
      exitCode: res.exitCode ?? 1,
      stdout: String(res.stdout ?? ""),
      stderr: String(res.stderr ?? ""),
      interrupted,
      canceled: res.isCanceled,
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** A builder as `docker buildx inspect` prints it (buildx commands/inspect.go). */
export interface BuilderInspect {
  name: string;
  driver: string;
  /** The builder's own `Error:` line (e.g. its Docker engine does not answer). */
  error?: string;
  nodes: BuilderNode[];
}

export interface BuilderNode {
  name: string;
  endpoint: string;
  status?: string;
  error?: string;
  /** `Platforms:`, without the `*` buildx marks platforms set by `--platform` with. */
  platforms: string[];
}

/** Reads `docker buildx inspect` output: the builder's name, driver and error, then each node. */
export function parseInspect(stdout: string): BuilderInspect {
  const out: BuilderInspect = { name: "", driver: "", nodes: [] };
  let node: BuilderNode | undefined;
  let inNodes = false;
  for (const line of stdout.split("\n")) {
    const m = /^([A-Za-z][A-Za-z ]*):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "Nodes") {
      inNodes = true;
      continue;
    }
    if (!inNodes) {
      if (key === "Name") out.name = value.trim();
      else if (key === "Driver") out.driver = value.trim();
      else if (key === "Error") out.error = value.trim();
      continue;
    }
    if (key === "Name") out.nodes.push((node = { name: value.trim(), endpoint: "", platforms: [] }));
    else if (!node) continue;
    else if (key === "Endpoint") node.endpoint = value.trim();
    else if (key === "Status") node.status = value.trim();
    else if (key === "Error") node.error = value.trim();
    else if (key === "Platforms")
      node.platforms = value
        .split(",")
        .map((p) => p.trim().replace(/\*$/, ""))
        .filter((p) => p !== "");
  }
  return out;
}

/** What a probe found out about one builder of a pool. */
export interface BuilderProbe {
  builder: string;
  ok: boolean;
  /** Why it cannot build, when not ok. */
  reason?: string;
  driver?: string;
  /** Platforms of its running nodes; empty when it lists none. */
  platforms: string[];
  /** The command that probed it (after `docker`). */
  argv: string[];
}

export function inspectArgv(builder: string, bootstrap: boolean): string[] {
  return ["buildx", "inspect", ...(bootstrap ? ["--bootstrap"] : []), builder];
}

/**
 * Whether a builder can build, from its `docker buildx inspect` run. buildx exits 0 even when the
 * builder's engine does not answer (it prints `Error: Cannot connect ...` instead), so the output
 * decides: a builder is usable when at least one node runs (with `--bootstrap`) or is not in error.
 */
export function judgeProbe(
  builder: string,
  argv: string[],
  res: { exitCode: number; stdout: string; stderr: string; timedOut?: boolean },
  opts: { bootstrap: boolean; timeoutMs: number },
): BuilderProbe {
  const failed = (reason: string, driver?: string): BuilderProbe => ({
    builder,
    ok: false,
    reason,
    driver,
    platforms: [],
    argv,
  });
  if (res.timedOut) return failed(`no answer within ${Math.round(opts.timeoutMs / 1000)}s`);
  if (res.exitCode !== 0) return failed(stderrTail(res.stderr || res.stdout, 1) || `exit code ${res.exitCode}`);
  const info = parseInspect(res.stdout);
  if (info.error) return failed(info.error, info.driver || undefined);
  const usable = info.nodes.filter((n) => !n.error && (!opts.bootstrap || n.status === "running"));
  if (usable.length === 0) {
    const first = info.nodes[0];
    return failed(
      first
        ? `node ${first.name} is ${first.error ? `in error: ${first.error}` : (first.status ?? "not running")}`
        : "it has no nodes",
      info.driver,
    );
  }
  return {
    builder,
    ok: true,
    driver: info.driver,
    platforms: [...new Set(usable.flatMap((n) => n.platforms))],
    argv,
  };
}

/** `docker buildx inspect [--bootstrap] BUILDER` with a timeout, judged by `judgeProbe`. */
export async function probeBuilder(
  builder: string,
  opts: { bootstrap: boolean; timeoutMs: number },
): Promise<BuilderProbe> {
  const argv = inspectArgv(builder, opts.bootstrap);
  const res = await execa("docker", argv, { reject: false, timeout: opts.timeoutMs });
  if (res.failed && /ENOENT/.test(String(res.message)))
    throw new BuildxError(`docker not found on PATH: ${HOW_TO_GET}`, { argv });
  return judgeProbe(
    builder,
    argv,
    { exitCode: res.exitCode ?? 1, stdout: String(res.stdout), stderr: String(res.stderr), timedOut: res.timedOut },
    opts,
  );
}

/**
 * The rawjson progress buildx recorded for a finished build (`docker buildx history logs`), for the
 * per-target step counts when buildx showed its own live view. `ref` is the metadata file's
 * `buildx.build.ref`, `builder/node/id`. Undefined when the builder keeps no history.
 */
export async function recordedProgress(ref: string): Promise<string | undefined> {
  const parts = ref.split("/");
  const id = parts.at(-1);
  if (parts.length !== 3 || !id) return undefined;
  const res = await docker(["buildx", "--builder", parts[0]!, "history", "logs", "--progress=rawjson", id]);
  return res.exitCode === 0 ? res.stderr : undefined;
}

/** A failed build as buildx's history records it: its Dockerfile, stage and the failing step's line. */
export interface RecordedFailure {
  dockerfile: string;
  stage?: string;
  at?: { dockerfile: string; line: number };
}

/**
 * The failed builds buildx recorded since `since` (`docker buildx history ls` and `inspect`), for
 * a bake whose closing error went to the terminal rather than through bakeplan. Empty when the
 * builder keeps no history or answers with something else.
 */
export async function recordedFailures(since: Date, builder?: string): Promise<RecordedFailure[]> {
  const on = builder ? ["--builder", builder] : [];
  const ls = await docker(["buildx", ...on, "history", "ls", "--format", "json", "--no-trunc"]);
  if (ls.exitCode !== 0) return [];
  const failures: RecordedFailure[] = [];
  for (const record of parseHistoryList(ls.stdout, since)) {
    const id = record.split("/").at(-1)!;
    const inspect = await docker(["buildx", ...on, "history", "inspect", id, "--format", "json"]);
    const failure = inspect.exitCode === 0 ? parseHistoryFailure(inspect.stdout) : undefined;
    if (failure) failures.push(failure);
  }
  return failures;
}

/** The refs of the failed records of `docker buildx history ls --format json` (one JSON per line) created since `since`. */
export function parseHistoryList(text: string, since: Date): string[] {
  const refs: string[] = [];
  for (const line of text.split("\n")) {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    const { ref, status, created_at: created } = (r ?? {}) as Record<string, unknown>;
    if (typeof ref !== "string" || status !== "Error" || typeof created !== "string") continue;
    if (Date.parse(created) >= since.getTime()) refs.push(ref);
  }
  return refs;
}

/** A failed record of `docker buildx history inspect --format json`: Dockerfile, stage, and the `x.Dockerfile:28` its error names. */
export function parseHistoryFailure(text: string): RecordedFailure | undefined {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { Dockerfile: dockerfile, Target: stage, Error: error } = (r ?? {}) as Record<string, unknown>;
  if (typeof dockerfile !== "string" || error === null || typeof error !== "object") return undefined;
  // A target buildx cancelled because another failed is recorded failed too, with this message.
  const message = (error as Record<string, unknown>).Message;
  if (typeof message === "string" && /\bcontext canceled\b/.test(message)) return undefined;
  // Sources: base64 of the excerpt buildx prints under the error, headed `x.Dockerfile:28`.
  const sources = (error as Record<string, unknown>).Sources;
  const head = typeof sources === "string" ? Buffer.from(sources, "base64").toString("utf8").split("\n")[0] : "";
  const m = /^(\S+):(\d+)$/.exec(head ?? "");
  return {
    dockerfile,
    ...(typeof stage === "string" && stage !== "" ? { stage } : {}),
    ...(m ? { at: { dockerfile: m[1]!, line: Number(m[2]) } } : {}),
  };
}

/** An execa transform that hands each line to `fn` and keeps nothing (rawjson progress can be large). */
function lineSink(fn: (line: string) => void) {
  // eslint-disable-next-line require-yield -- a transform that yields nothing drops the line from the output
  return function* (line: unknown): Generator<string, void, unknown> {
    fn(String(line));
  };
}

/** The last `lines` non-blank lines of a command's output, for an error message. */
export function stderrTail(text: string, lines = 5): string {
  const kept = text.split("\n").filter((l) => l.trim() !== "");
  return kept.slice(-lines).join("\n");
}

/** The driver of a builder (`docker`, `docker-container`, ...), or undefined when buildx cannot tell. */
export async function builderDriver(builder?: string): Promise<string | undefined> {
  try {
    const inspect = await docker(["buildx", "inspect", ...(builder ? [builder] : [])]);
    if (inspect.exitCode !== 0) return undefined;
    return /^Driver:[ \t]*(\S+)/m.exec(inspect.stdout)?.[1];
  } catch {
    return undefined;
  }
}

const LOCAL_FORMAT =
  "{{json .RepoTags}}\t{{json .RepoDigests}}\t{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}";

/** Whether the engine of Docker context `context` answers (a stopped engine keeps its context and builder). */
export async function engineAnswers(context: string): Promise<boolean> {
  try {
    return (await docker(["--context", context, "version", "--format", "{{.Server.Version}}"])).exitCode === 0;
  } catch {
    return false;
  }
}

/**
 * Which of `refs` the engine's image store holds (the engine of Docker context `context`, else the
 * current one), and for which platform: the `docker` driver builds FROM local images without pulling them.
 */
export async function localImages(refs: readonly string[], context?: string): Promise<Map<string, string>> {
  if (refs.length === 0) return new Map();
  try {
    const res = await docker([
      ...(context !== undefined ? ["--context", context] : []),
      "image",
      "inspect",
      "--format",
      LOCAL_FORMAT,
      ...refs,
    ]);
    return parseLocalImages(res.stdout, refs);
  } catch {
    return new Map();
  }
}

/** Matches `docker image inspect` lines (tags, digests, platform) to the references asked for. */
export function parseLocalImages(stdout: string, refs: readonly string[]): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const r of refs) {
    const parsed = parseReference(r);
    if (parsed) wanted.set(canonical(parsed), r);
  }
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const [tags, digests, platform] = line.split("\t");
    if (!platform) continue;
    let names: unknown[];
    try {
      names = [...(JSON.parse(tags ?? "[]") as unknown[]), ...(JSON.parse(digests ?? "[]") as unknown[])];
    } catch {
      continue;
    }
    for (const n of names) {
      const parsed = typeof n === "string" ? parseReference(n) : undefined;
      const ref = parsed && wanted.get(canonical(parsed));
      if (ref !== undefined) out.set(ref, platform.trim());
    }
  }
  return out;
}
