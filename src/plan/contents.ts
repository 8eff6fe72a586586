import { createHash } from "node:crypto";

/** One distinct Dockerfile body: Maps over bodies key by this object, never by the text. */
export interface Content {
  readonly body: string;
}

/**
 * Hands out one Content per distinct body. V8 hashes a long string by its length alone, so a Map
 * keyed by Dockerfile bodies compares bodies of equal length with each other (quadratic at
 * thousands of files): a body is found by its digest instead, and later stages key by its Content.
 */
export class ContentStore {
  private readonly byDigest = new Map<string, Content[]>();

  intern(body: string): Content {
    const digest = createHash("sha1").update(body).digest("base64");
    let bucket = this.byDigest.get(digest);
    if (!bucket) this.byDigest.set(digest, (bucket = []));
    let content = bucket.find((c) => c.body === body);
    if (!content) bucket.push((content = { body }));
    return content;
  }
}
