/** A sample source with a programming error (for the CLI's exit-code test): its config call throws a TypeError. */
export function defaultConfig(): never {
  const o = undefined as unknown as { field: number };
  return o.field as never;
}
