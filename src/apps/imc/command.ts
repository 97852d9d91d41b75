/**
 * Parsing an imc command line: `<char><name> [param ...]` on the first line of the body. Names are matched
 * case-insensitively; `deny`, `exit` and `list` are aliases as in Kamailio 5.6 (`list` = `members`).
 */
export type CommandName =
  | 'create'
  | 'join'
  | 'invite'
  | 'add'
  | 'accept'
  | 'reject'
  | 'remove'
  | 'leave'
  | 'members'
  | 'rooms'
  | 'destroy'
  | 'modify'
  | 'help';

export interface ParsedCommand {
  /** undefined: not a known command (`word` says what was typed). */
  name: CommandName | undefined;
  /** The command word as typed (without the command character), clipped for echoing. */
  word: string;
  params: string[];
}

const ALIASES: Record<string, CommandName> = {
  create: 'create',
  join: 'join',
  invite: 'invite',
  add: 'add',
  accept: 'accept',
  reject: 'reject',
  deny: 'reject',
  remove: 'remove',
  leave: 'leave',
  exit: 'leave',
  members: 'members',
  list: 'members',
  rooms: 'rooms',
  destroy: 'destroy',
  modify: 'modify',
  help: 'help',
};

/** Usage lines (without the command character) for error replies. */
export const USAGE: Record<CommandName, string> = {
  create: 'create <room_name> [private]',
  join: 'join [<room_name>]',
  invite: 'invite <user_name> [<room_name>]',
  add: 'add <user_name> [<room_name>]',
  accept: 'accept [<room_name>]',
  reject: 'reject [<room_name>]',
  remove: 'remove <user_name> [<room_name>]',
  leave: 'leave [<room_name>]',
  members: 'members [<room_name>]',
  rooms: 'rooms',
  destroy: 'destroy [<room_name>]',
  modify: 'modify <user_name> <owner|admin|member> [<room_name>]',
  help: 'help',
};

/** Most parameters any command takes; more is an error (Kamailio silently ignores them). */
export const MAX_PARAMS = 3;

/** At most this many parameters are split out of a line (so a huge line costs nothing). */
const SPLIT_LIMIT = MAX_PARAMS + 1;

/** True when the body is a command for this command character. */
export function isCommand(body: string, commandChar: string): boolean {
  return body.startsWith(commandChar);
}

/** Makes a piece of user input safe to echo: printable, at most 64 characters. */
export function clip(s: string): string {
  const printable = s.replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return printable.length > 64 ? `${printable.slice(0, 61)}...` : printable;
}

/** Parses `body` (which starts with the command character) into name and parameters. */
export function parseCommand(body: string, commandChar: string): ParsedCommand {
  const eol = body.search(/[\r\n]/);
  const line = (eol < 0 ? body : body.slice(0, eol)).slice(commandChar.length);
  const parts: string[] = [];
  const re = /[^ \t]+/g;
  for (let m = re.exec(line); m !== null && parts.length <= SPLIT_LIMIT; m = re.exec(line)) parts.push(m[0]);
  // A command word is what follows the character up to white space (an empty word is an invalid command).
  const word = /^[ \t]/.test(line) ? '' : (parts.shift() ?? '');
  const key = word.toLowerCase();
  return { name: Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined, word: clip(word), params: parts };
}
