// Registry credentials the way docker finds them: $DOCKER_CONFIG/config.json (default
// ~/.docker/config.json), `credHelpers` per registry, then `credsStore`, then `auths`
// (docker/cli cli/config/configfile/file.go GetAuthConfig). Helpers are run as
// `docker-credential-<name> get` with the server on stdin (docker/docker-credential-helpers).

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface Credential {
  username: string;
  password: string;
  /** Where it came from, for messages: `credential helper docker-credential-ecr-login`, `auths in ~/.docker/config.json`. */
  from: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), ".docker"), "config.json");
}

function readConfig(path: string): DockerConfig {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as DockerConfig;
  } catch {
    return {};
  }
}

/** The keys docker files a registry's credentials under (Docker Hub's is its v1 index URL). */
function serverKeys(registry: string): string[] {
  if (registry === "docker.io")
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`];
}

export class CredentialStore {
  private readonly config: DockerConfig;
  private readonly cache = new Map<string, Promise<Credential | undefined>>();

  constructor(readonly configPath = dockerConfigPath()) {
    this.config = readConfig(configPath);
  }

  get(registry: string): Promise<Credential | undefined> {
    let c = this.cache.get(registry);
    if (!c) this.cache.set(registry, (c = this.lookup(registry)));
    return c;
  }

  private async lookup(registry: string): Promise<Credential | undefined> {
    const keys = serverKeys(registry);
    const helper = keys.map((k) => this.config.credHelpers?.[k]).find((h) => h !== undefined) ?? this.config.credsStore;
    if (helper) {
      const fromHelper = await runHelper(helper, keys[0]!);
      if (fromHelper) return fromHelper;
    }
    for (const k of keys) {
      const a = this.config.auths?.[k];
      if (!a) continue;
      const from = `auths["${k}"] in ${this.configPath}`;
      if (a.auth) {
        const decoded = Buffer.from(a.auth, "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from };
      }
      if (a.username && a.password) return { username: a.username, password: a.password, from };
    }
    return undefined;
  }
}

async function runHelper(helper: string, server: string): Promise<Credential | undefined> {
  const program = `docker-credential-${helper}`;
  const res = await execa(program, ["get"], { input: server, reject: false, timeout: 30_000 });
  // Not found, or a helper that is not installed: fall back to `auths`, as docker does.
  if (res.exitCode !== 0) return undefined;
  try {
    const out = JSON.parse(String(res.stdout)) as { Username?: string; Secret?: string };
    if (out.Username !== undefined && out.Secret !== undefined)
      return { username: out.Username, password: out.Secret, from: `credential helper ${program}` };
  } catch {
    // An answer that is not JSON is no credential.
  }
  return undefined;
}
