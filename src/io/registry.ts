// Resolving image references through the registry HTTP API (OCI distribution-spec): HEAD, then
// GET of the index (or of a single manifest and its config) for its platforms. A 401 is answered
// with the Bearer token flow (distribution token-auth spec: realm, service, scope) or Basic auth.

import { createHash } from "node:crypto";
import type { Failure, Lookup } from "../images/preflight.js";
import {
  apiHost,
  apiScheme,
  indexPlatforms,
  manifestKind,
  MANIFEST_ACCEPT,
  parseChallenge,
  parseReference,
  platformString,
  type ImageRef,
  type IndexEntry,
} from "../images/reference.js";
import type { CredentialStore } from "./credentials.js";

export interface RegistryOptions {
  credentials: CredentialStore;
  /** Per request; a request that times out is tried once more. */
  timeoutMs: number;
}

class Unreachable extends Error {}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+$/;
const PLATFORM = /^[\w.-]+\/[\w.-]+(\/[\w.-]+)?$/;

/** A JSON object, or undefined for anything else (not JSON, an array, a string, null). */
function parseJson(body: Buffer): object | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: RegistryOptions) {}

  async resolve(refText: string): Promise<Lookup> {
    const ref = parseReference(refText);
    if (!ref) return { failure: "not a valid image reference" };
    try {
      return await this.lookup(ref);
    } catch (e) {
      if (e instanceof Unreachable) return { failure: e.message };
      throw e;
    }
  }

  private base(ref: ImageRef): string {
    return `${apiScheme(ref.registry)}://${apiHost(ref.registry)}/v2/${ref.repository}`;
  }

  private async lookup(ref: ImageRef): Promise<Lookup> {
    const reference = ref.digest ?? ref.tag ?? "latest";
    const url = `${this.base(ref)}/manifests/${reference}`;
    const head = await this.request(ref, "HEAD", url, MANIFEST_ACCEPT);
    if (head.status !== 200) return this.failure(ref, url, head);
    let digest = head.headers.get("docker-content-digest") ?? undefined;
    // What a registry answers goes into the lock file, URLs and messages: only the forms the OCI
    // distribution spec gives (a registry named by a pull request's FROM may answer anything).
    if (digest !== undefined && !DIGEST.test(digest))
      return { failure: `${ref.registry} answered a digest for ${refText(ref)} that is not sha256:<64 hex digits>` };
    let mediaType = head.headers.get("content-type") ?? "";
    // GET by digest: the body is exactly what the digest names, even if the tag moves meanwhile.
    const get = await this.request(ref, "GET", `${this.base(ref)}/manifests/${digest ?? reference}`, MANIFEST_ACCEPT);
    if (get.status !== 200) return this.failure(ref, url, get);
    const body = Buffer.from(await get.arrayBuffer());
    digest ??= `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const json = parseJson(body) as { mediaType?: unknown; config?: { digest?: unknown } } | undefined;
    if (json === undefined) return { failure: `the manifest of ${refText(ref)} is not a JSON object` };
    const given = typeof json.mediaType === "string" ? json.mediaType : mediaType;
    mediaType = manifestKind(mediaType) ? mediaType.split(";")[0]!.trim() : given;
    if (mediaType !== "" && !MEDIA_TYPE.test(mediaType))
      return { failure: `the manifest of ${refText(ref)} has a media type that is not type/subtype` };
    let platforms: IndexEntry[];
    if (manifestKind(mediaType) === "index") platforms = indexPlatforms(json);
    else {
      const config = json.config?.digest;
      if (typeof config !== "string" || !DIGEST.test(config))
        return { failure: `the manifest of ${refText(ref)} names no config by a sha256 digest` };
      const blob = await this.request(ref, "GET", `${this.base(ref)}/blobs/${config}`, "*/*");
      if (blob.status !== 200) return { failure: `cannot read the config of ${refText(ref)} (HTTP ${blob.status})` };
      const c = parseJson(Buffer.from(await blob.arrayBuffer())) as
        { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
      if (c === undefined) return { failure: `the config of ${refText(ref)} is not a JSON object` };
      platforms =
        typeof c.os === "string" && typeof c.architecture === "string" && c.os && c.architecture
          ? [{ platform: platformString(c.os, c.architecture, c.variant), digest }]
          : [];
    }
    const bad = platforms.find((p) => !PLATFORM.test(p.platform) || !DIGEST.test(p.digest));
    if (bad)
      return {
        failure: `the manifest of ${refText(ref)} lists a platform that is not os/architecture[/variant] with a sha256 digest`,
      };
    return { digest, mediaType, platforms, via: "registry" };
  }

  private async failure(ref: ImageRef, url: string, res: Response & { request: "HEAD" | "GET" }): Promise<Failure> {
    const repo = `${ref.registry}/${ref.repository}`;
    if (res.status === 401)
      return {
        failure: `unauthorized at ${ref.registry}${this.usedCredentials.has(ref.registry) ? " with the credentials found" : ": no credentials found for it"} (docker login ${ref.registry}, or a credential helper in ${this.opts.credentials.configPath})`,
      };
    if (res.status === 403) return { failure: `access to ${repo} denied (HTTP 403)` };
    if (res.status === 404) {
      // HEAD answers carry no body: GET says whether the tag or the repository is unknown.
      const get = res.request === "HEAD" ? await this.request(ref, "GET", url, MANIFEST_ACCEPT) : res;
      let codes = await errorCodes(get);
      // distribution answers MANIFEST_UNKNOWN for a repository it has never seen too; its tag list tells them apart.
      if (!codes.includes("NAME_UNKNOWN"))
        codes = await errorCodes(await this.request(ref, "GET", `${this.base(ref)}/tags/list`, "application/json"));
      if (codes.includes("NAME_UNKNOWN")) return { failure: `repository ${repo} not found` };
      return {
        failure: ref.digest ? `digest ${ref.digest} not found in ${repo}` : `tag "${ref.tag}" not found in ${repo}`,
      };
    }
    return { failure: `HTTP ${res.status} from ${ref.registry}` };
  }

  private readonly usedCredentials = new Set<string>();

  /** One request, with auth as the registry asks for it, retried once on a network error, timeout or 5xx. */
  private async request(
    ref: ImageRef,
    method: "HEAD" | "GET",
    url: string,
    accept: string,
  ): Promise<Response & { request: "HEAD" | "GET" }> {
    const scope = `repository:${ref.repository}:pull`;
    const key = `${ref.registry} ${scope}`;
    let res = await this.fetch(method, url, accept, this.tokens.get(key));
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get("www-authenticate"));
      const auth = challenge && (await this.authorize(ref, challenge, scope));
      if (auth) {
        this.tokens.set(key, auth);
        res = await this.fetch(method, url, accept, auth);
      }
    }
    return Object.assign(res, { request: method });
  }

  private async authorize(
    ref: ImageRef,
    challenge: { scheme: string; params: Record<string, string> },
    scope: string,
  ): Promise<string | undefined> {
    const cred = await this.opts.credentials.get(ref.registry);
    if (cred) this.usedCredentials.add(ref.registry);
    const basic = cred && `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    if (challenge.scheme === "basic") return basic;
    if (challenge.scheme !== "bearer" || !challenge.params.realm) return undefined;
    const token = new URL(challenge.params.realm);
    if (challenge.params.service) token.searchParams.set("service", challenge.params.service);
    token.searchParams.set("scope", challenge.params.scope ?? scope);
    const res = await this.send(token.toString(), { method: "GET", headers: basic ? { authorization: basic } : {} });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { token?: string; access_token?: string };
    const t = body.token ?? body.access_token;
    return t ? `Bearer ${t}` : undefined;
  }

  private fetch(method: string, url: string, accept: string, authorization?: string): Promise<Response> {
    return this.send(url, {
      method,
      headers: { accept, ...(authorization ? { authorization } : {}) },
    });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    let last: unknown;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const res = await fetch(url, { ...init, redirect: "follow", signal: AbortSignal.timeout(this.opts.timeoutMs) });
        if (res.status < 500 && res.status !== 429) return res;
        last = new Unreachable(`${new URL(url).host} answered HTTP ${res.status}`);
        if (attempt === 1) return res;
      } catch (e) {
        last = e;
      }
    }
    throw unreachable(url, last, this.opts.timeoutMs);
  }
}

function refText(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}`;
}

async function errorCodes(res: Response): Promise<string[]> {
  try {
    const body = (await res.json()) as { errors?: { code?: string }[] };
    return (body.errors ?? []).map((e) => e.code ?? "");
  } catch {
    return [];
  }
}

function unreachable(url: string, e: unknown, timeoutMs: number): Unreachable {
  if (e instanceof Unreachable) return e;
  const host = new URL(url).host;
  const err = e as { name?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError" || err.name === "AbortError")
    return new Unreachable(`registry ${host} did not answer within ${timeoutMs / 1000} s (tried twice)`);
  const code = err.cause?.code ?? err.cause?.message ?? String(e);
  const what = code === "ECONNREFUSED" ? "connection refused" : code === "ENOTFOUND" ? "host not found" : code;
  return new Unreachable(`registry ${host} unreachable: ${what} (tried twice)`);
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
