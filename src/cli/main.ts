/** The `sipmedia` command: dispatches to the sub-commands. */
import { packageVersion } from './version.js';
import { runProxy } from './proxy.js';

const USAGE = `Usage: sipmedia <command> [options]

Commands:
  proxy     media proxy driven by Kamailio's rtpengine module (ng protocol)
  ctl       ng client: ping, list, query, delete, statistics ... against any ng proxy
  media-server
            SIP endpoint that answers calls and plays announcements (Kamailio's rtp_media_server)
  imc       instant-messaging conference rooms over SIP MESSAGE, stored in SQL (Kamailio's imc)

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
    case 'media-server': {
      const { runMediaServer } = await import('./media-server.js');
      return runMediaServer(rest);
    }
    case 'imc': {
      const { runImc } = await import('./imc.js');
      return runImc(rest);
    }
    case '--version':
    case '-v':
      console.log(`sipmedia ${packageVersion()}`);
      return 0;
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
