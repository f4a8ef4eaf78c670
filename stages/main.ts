// The composition root: the generic engine and command line (src/) told about this domain's
// kinds, commands and results reader (register.ts), then run. bin/pipeline.js starts it.
import { main } from '../src/cli.js';
import { registerBuiltins } from './register.js';

export { registerBuiltins };

export async function run(argv: string[]): Promise<void> {
  registerBuiltins();
  await main(argv);
}
