/** The `sipmedia` command: dispatches to the sub-commands. */
export async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  console.error(`sipmedia: unknown command '${cmd ?? ''}'`);
  return 2;
}
