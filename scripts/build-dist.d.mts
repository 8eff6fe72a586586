export const REPO: string;
export function newestMtime(dir: string): number;
export function distIsStale(repo?: string): boolean;
export function ensureBuilt(repo?: string): Promise<void>;
export function build(repo?: string): Promise<unknown>;
export function bundleOptions(repo: string, entry: string, outdir: string): Record<string, unknown>;
export function bundle(repo: string, entry: string, outdir: string): Promise<void>;
