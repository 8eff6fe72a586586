/** The image lock next to context.yaml (a module of its own: write-plan.ts refuses it as an output without loading zod). */
export const LOCK_FILE = "bakeplan.lock.json";
