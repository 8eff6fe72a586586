export const REPO: string;
export function newestMtime(dir: string): number;
export function distIsStale(repo?: string): boolean;
export function ensureBuilt(repo?: string): string;
