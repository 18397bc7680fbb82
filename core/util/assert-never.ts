/** Ends an exhaustive `switch` over a union: a new member becomes a type error here. */
export function assertNever(x: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(x)}`);
}
