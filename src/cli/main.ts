/** The `sipmedia` command: dispatches to the sub-commands. */
import { runProxy } from './proxy.js';

const USAGE = `Usage: sipmedia <command> [options]

Commands:
  proxy     media proxy driven by Kamailio's rtpengine module (ng protocol)
  ctl       ng client: ping, list, query, delete, statistics ... against any ng proxy

'sipmedia <command> --help' for the options of a command.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'proxy':
      return runProxy(rest);
    case 'ctl': {
      const { runCtl } = await import('./ctl.js');
      return runCtl(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      console.error(`sipmedia: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}
