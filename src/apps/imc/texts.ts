/**
 * What the service says. Where Kamailio 5.6's imc sends a text, ours is the same byte for byte (clients and
 * scripts read them; see test/e2e/fixtures/imc/kamailio-5.6-golden.json, recorded from the real module).
 * Where imc fails with a bare SIP 500, we send one of the explanations below instead, in the same style.
 */

/** `[user]`: how imc shows a member. */
export const shown = (user: string): string => `[${user}]`;

// ---- Kamailio 5.6 texts ----
export const ROOM_CREATED = '*** Room was created';
export const ROOM_DESTROYED = '*** Room has been destroyed';
export const ROOM_NOT_FOUND = '*** Room not found';
export const ROOM_EXISTS = '*** Room already exists';
export const ROOM_EXISTS_PRIVATE = '*** A private room with the same name already exists';
export const ROOM_EXISTS_MEMBER = '*** Room already exists and you are a member';
export const ALREADY_JOINED = '*** You are in the room already';
export const PRIVATE_BY_INVITATION =
  '*** Private rooms are by invitation only. Room owners have been notified.';
export const OWNER_CANNOT_LEAVE = (c: string): string =>
  `*** You are the room's owner and cannot leave. Use ${c}destroy if you wish to destroy the room.`;
// "permmission" is spelled as Kamailio spells it: scripts match these strings.
export const ADD_REFUSED = "*** You don't have the permmission to add members to this room";
export const MODIFY_REFUSED = "*** You don't have the permmission to modify members in this room";
export const REMOVED = '*** You have been removed from the room';
export const joined = (user: string): string => `*** ${shown(user)} has joined the room`;
export const left = (user: string): string => `*** ${shown(user)} has left the room`;
export const joinAttempt = (user: string): string => `*** ${shown(user)} attempted to join the room`;
export const invitation = (inviter: string, c: string): string =>
  `*** ${shown(inviter)} invites you to join the room (send '${c}accept' or '${c}reject')`;
export const invalidCommand = (name: string, c: string): string =>
  `*** Invalid command '${name}' (send '${c}help' for help)`;
/** Kamailio master's text for #modify (5.6 has no #modify); the member is shown as `[user]` like elsewhere. */
export const modified = (user: string, role: string): string => `*** ${shown(user)} is now ${role}`;
export const relayed = (user: string, text: string): string => `${shown(user)}: ${text}`;
/** Sent to the inviter when the invitation could not be delivered (imc: "<user@domain> is not registered."). */
export const notRegistered = (user: string, domain: string): string =>
  `*** ${user}@${domain} is not registered.`;

/** `#help`: Kamailio's list (CRLF lines, leading CRLF), with our command character, plus #modify. */
export function helpText(c: string): string {
  const lines = [
    `${c}create <room_name> - create new conference room`,
    `${c}join [<room_name>] - join the conference room`,
    `${c}invite <user_name> [<room_name>] - invite a user to join a conference room`,
    `${c}add <user_name> [<room_name>] - add a user to a conference room`,
    `${c}modify <user_name> <role> [<room_name>] - modify user role in a conference room`,
    `${c}accept - accept invitation to join a conference room`,
    `${c}reject - reject invitation to join a conference room`,
    `${c}remove <user_name> [<room_name>] - remove a user from the conference room`,
    `${c}members - list members is a conference room`,
    `${c}rooms - list existing conference rooms`,
    `${c}leave [<room_name>] - leave from a conference room`,
    `${c}destroy [<room_name>] - destroy conference room`,
  ];
  return `\r\n${lines.join('\r\n')}\r\n`;
}

/** `Members:` then one line per member: `*[owner]`, `~[admin]`, `[member]` (invited users not listed). */
export function membersText(list: { user: string; role: 'owner' | 'admin' | 'member' }[]): string {
  const mark = { owner: '*', admin: '~', member: '' } as const;
  return ['Members:', ...list.map((m) => `${mark[m.role]}${shown(m.user)}`)].join('\n');
}

/** `Rooms:` then one `[room]` line per room. */
export function roomsText(names: string[]): string {
  return ['Rooms:', ...names.map(shown)].join('\n');
}

// ---- ours: where imc answers only with a SIP error ----
export const NOT_MEMBER = '*** You are not a member of the room';
export const NOT_INVITED = '*** You have not been invited to the room';
export const INVITE_REFUSED = "*** You don't have the permission to invite members to this room";
export const REMOVE_REFUSED = "*** You don't have the permission to remove members from this room";
export const DESTROY_REFUSED = "*** Only the room's owner can destroy the room";
export const OWNER_NOT_REMOVABLE = "*** The room's owner cannot be removed";
export const OWNER_ONLY_BY_OWNER = '*** Only an owner can change the role of an owner or make one';
export const TOO_MANY_ROOMS = '*** Too many rooms, the room was not created';
export const ROOM_FULL = '*** The room is full';
export const NOT_UTF8 = '*** Message rejected: the body is not valid UTF-8';
export const MANAGER_TEXT = (c: string): string =>
  `*** This address takes commands only (send '${c}help' for help)`;
export const tooLarge = (max: number): string => `*** Message rejected: the body exceeds ${max} bytes`;
export const alreadyMember = (user: string): string => `*** ${shown(user)} is already a member of the room`;
export const alreadyInvited = (user: string): string => `*** ${shown(user)} has already been invited`;
export const notAMember = (user: string): string => `*** ${shown(user)} is not a member of the room`;
export const missingArgument = (c: string, usage: string): string =>
  `*** Missing argument (usage: ${c}${usage})`;
export const tooManyArguments = (c: string, usage: string): string =>
  `*** Too many arguments (usage: ${c}${usage})`;
export const badRoomName = (v: string): string => `*** Invalid room name '${v}'`;
export const badUser = (v: string): string => `*** Invalid user '${v}'`;
export const badRole = (v: string): string => `*** Invalid role '${v}' (use owner, admin or member)`;
export const badCreateFlag = (v: string): string =>
  `*** Invalid argument '${v}' (only 'private' may follow the room name)`;
