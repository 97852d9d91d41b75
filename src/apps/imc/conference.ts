/**
 * The conference logic: one MESSAGE body in, the MESSAGEs to send out. No SIP here: the caller (sip-glue)
 * turns each Outgoing into a request from the room to the member. State lives in the SQL store only, so
 * several nodes on one database agree.
 */
import type { ImcMember, ImcRoom, ImcStore, Party } from '../../store/imc-store.js';
import { MEMBER_INVITED, MEMBER_OWNER, ROOM_PRIVATE } from '../../store/schema.js';
import { normDomain, paramToParty, validRoomName } from './address.js';
import {
  type CommandName,
  MAX_PARAMS,
  type ParsedCommand,
  USAGE,
  clip,
  isCommand,
  parseCommand,
} from './command.js';
import { canManage, flagOf, isInvited, isOwner, parseRole, roleOf } from './roles.js';
import * as T from './texts.js';

export interface ConferenceOptions {
  /** The domain we serve: rooms live here. */
  domain: string;
  /** User part of the manager URI (default chat-manager). */
  manager: string;
  commandChar: string;
  /** `#join` of a missing room creates it (imc's create_on_join, default true). */
  createOnJoin: boolean;
  /** What `#leave` by the owner does: destroy the room (issue #6) or refuse as Kamailio 5.6 does. */
  ownerLeave: 'destroy' | 'refuse';
  maxRooms: number;
  maxMembers: number;
}

export const DEFAULT_CONFERENCE_OPTIONS: Omit<ConferenceOptions, 'domain'> = {
  manager: 'chat-manager',
  commandChar: '#',
  createOnJoin: true,
  ownerLeave: 'destroy',
  maxRooms: 10_000,
  maxMembers: 1_000,
};

/** One MESSAGE to send. */
export interface Outgoing {
  to: Party;
  /** The room (or the address the command was sent to). */
  from: Party;
  body: string;
  /** An invitation: when it cannot be delivered the invitee is dropped again. */
  invitation?: { room: ImcRoom; inviter: Party };
}

export interface ConferenceInput {
  from: Party;
  /** The Request-URI's user and host. */
  to: Party;
  body: string;
}

export interface ConferenceResult {
  out: Outgoing[];
  /** The command run ('text' for a message to the room, 'invalid' for an unknown command). */
  kind: CommandName | 'text' | 'invalid';
}

const same = (a: Party, b: Party): boolean => a.user === b.user && a.domain === b.domain;
const roomParty = (r: ImcRoom): Party => ({ user: r.name, domain: r.domain });

/** Thrown inside a handler to answer the sender with a notice and stop. */
class Refusal {
  constructor(
    readonly text: string,
    readonly from?: Party,
  ) {}
}

export class Conference {
  readonly opts: ConferenceOptions;

  constructor(
    private readonly store: ImcStore,
    opts: Partial<ConferenceOptions> & { domain: string },
  ) {
    this.opts = { ...DEFAULT_CONFERENCE_OPTIONS, ...opts, domain: normDomain(opts.domain) };
  }

  /** Handles one MESSAGE body from `input.from` to `input.to`. */
  async handle(input: ConferenceInput): Promise<ConferenceResult> {
    const c = this.opts.commandChar;
    const ctx = new Context(input, this.opts);
    let kind: ConferenceResult['kind'] = 'text';
    try {
      if (!isCommand(input.body, c)) await this.text(ctx);
      else {
        const cmd = parseCommand(input.body, c);
        kind = cmd.name ?? 'invalid';
        await this.command(ctx, cmd);
      }
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      ctx.out = [{ to: input.from, from: e.from ?? input.to, body: e.text }];
    }
    return { out: ctx.out, kind };
  }

  private async command(ctx: Context, cmd: ParsedCommand): Promise<void> {
    const c = this.opts.commandChar;
    if (cmd.name === undefined) return ctx.reply(T.invalidCommand(cmd.word, c));
    const usage = USAGE[cmd.name];
    const needs = { invite: 1, add: 1, remove: 1, modify: 2 } as Partial<Record<CommandName, number>>;
    const most = { create: 2, modify: 3, rooms: 0, help: 0 } as Partial<Record<CommandName, number>>;
    if (cmd.params.length < (needs[cmd.name] ?? 0)) throw new Refusal(T.missingArgument(c, usage));
    if (cmd.params.length > (most[cmd.name] ?? (needs[cmd.name] ?? 0) + 1) || cmd.params.length > MAX_PARAMS)
      throw new Refusal(T.tooManyArguments(c, usage));
    const [p0, p1, p2] = cmd.params;
    switch (cmd.name) {
      case 'help':
        return ctx.reply(T.helpText(c));
      case 'rooms':
        return this.rooms(ctx);
      case 'create':
        return this.create(ctx, cmd.params);
      case 'join':
        return this.join(ctx, p0);
      case 'invite':
        return this.invite(ctx, p0 as string, p1);
      case 'add':
        return this.add(ctx, p0 as string, p1);
      case 'accept':
        return this.accept(ctx, p0);
      case 'reject':
        return this.reject(ctx, p0);
      case 'remove':
        return this.remove(ctx, p0 as string, p1);
      case 'leave':
        return this.leave(ctx, p0);
      case 'members':
        return this.members(ctx, p0);
      case 'destroy':
        return this.destroy(ctx, p0);
      case 'modify':
        return this.modify(ctx, p0 as string, p1 as string, p2);
    }
  }

  // ---- helpers ----

  /** The room a command is about: its parameter, else the Request-URI (not the manager's). */
  private roomName(ctx: Context, param: string | undefined, usage: string): Party {
    if (param === undefined) {
      if (ctx.toManager) throw new Refusal(T.missingArgument(this.opts.commandChar, usage));
      if (!validRoomName(ctx.input.to.user)) throw new Refusal(T.badRoomName(clip(ctx.input.to.user)));
      return ctx.input.to;
    }
    const p = paramToParty(param, this.opts.domain);
    if (!p || !validRoomName(p.user)) throw new Refusal(T.badRoomName(clip(param)));
    return p;
  }

  private async findRoom(ctx: Context, param: string | undefined, usage: string): Promise<ImcRoom> {
    const name = this.roomName(ctx, param, usage);
    const room =
      name.domain === this.opts.domain ? await this.store.getRoom(name.user, name.domain) : undefined;
    if (!room) throw new Refusal(T.ROOM_NOT_FOUND);
    return room;
  }

  private user(param: string): Party {
    const p = paramToParty(param, this.opts.domain);
    if (!p) throw new Refusal(T.badUser(clip(param)));
    return p;
  }

  /** The sender's membership; refused when not a member (invited counts only when `invitedOk`). */
  private async member(ctx: Context, room: ImcRoom, invitedOk = false): Promise<ImcMember> {
    const m = await this.store.getMember(room.id, ctx.input.from);
    if (!m || (isInvited(m) && !invitedOk)) throw new Refusal(T.NOT_MEMBER, roomParty(room));
    return m;
  }

  /** Queues `body` to every member except invited ones and `skip`. */
  private async broadcast(ctx: Context, room: ImcRoom, body: string, skip?: Party): Promise<void> {
    for (const m of await this.store.listMembers(room.id)) {
      if (isInvited(m)) continue;
      const to = { user: m.user, domain: m.domain };
      if (skip && same(to, skip)) continue;
      ctx.out.push({ to, from: roomParty(room), body });
    }
  }

  private async roomFull(room: ImcRoom): Promise<boolean> {
    return (await this.store.countMembers(room.id)) >= this.opts.maxMembers;
  }

  private async newRoom(ctx: Context, name: Party, flag: number): Promise<ImcRoom | undefined> {
    if ((await this.store.countRooms()) >= this.opts.maxRooms) throw new Refusal(T.TOO_MANY_ROOMS);
    const room = await this.store.createRoom(name.user, name.domain, flag, ctx.input.from, MEMBER_OWNER);
    if (room) ctx.out.push({ to: ctx.input.from, from: roomParty(room), body: T.ROOM_CREATED });
    return room;
  }

  // ---- plain text ----

  private async text(ctx: Context): Promise<void> {
    if (ctx.toManager) throw new Refusal(T.MANAGER_TEXT(this.opts.commandChar));
    const room =
      ctx.input.to.domain === this.opts.domain && validRoomName(ctx.input.to.user)
        ? await this.store.getRoom(ctx.input.to.user, ctx.input.to.domain)
        : undefined;
    if (!room) throw new Refusal(T.ROOM_NOT_FOUND);
    await this.member(ctx, room);
    await this.broadcast(ctx, room, T.relayed(ctx.input.from.user, ctx.input.body), ctx.input.from);
  }

  // ---- commands ----

  private async rooms(ctx: Context): Promise<void> {
    const list = await this.store.listRooms(this.opts.domain);
    ctx.reply(T.roomsText(list.map((r) => r.name)));
  }

  private async create(ctx: Context, params: string[]): Promise<void> {
    const usage = USAGE.create;
    let nameParam: string | undefined;
    let privateParam: string | undefined;
    if (params.length === 1 && params[0]?.toLowerCase() === 'private') privateParam = params[0];
    else [nameParam, privateParam] = params;
    if (privateParam !== undefined && privateParam.toLowerCase() !== 'private')
      throw new Refusal(T.badCreateFlag(clip(privateParam)));
    const name = this.roomName(ctx, nameParam, usage);
    if (name.domain !== this.opts.domain) throw new Refusal(T.ROOM_NOT_FOUND);
    const existing = await this.store.getRoom(name.user, name.domain);
    if (!existing) {
      const room = await this.newRoom(ctx, name, privateParam ? ROOM_PRIVATE : 0);
      if (room) return;
    }
    const room = existing ?? (await this.store.getRoom(name.user, name.domain));
    if (!room) throw new Refusal(T.ROOM_NOT_FOUND);
    if (room.flag & ROOM_PRIVATE) throw new Refusal(T.ROOM_EXISTS_PRIVATE);
    if (await this.store.getMember(room.id, ctx.input.from)) throw new Refusal(T.ROOM_EXISTS_MEMBER);
    await this.admit(ctx, room);
  }

  /** Adds the sender to a public room and tells everyone. */
  private async admit(ctx: Context, room: ImcRoom): Promise<void> {
    if (await this.roomFull(room)) throw new Refusal(T.ROOM_FULL, roomParty(room));
    if (!(await this.store.addMember(room.id, ctx.input.from, 0)))
      throw new Refusal(T.ALREADY_JOINED, roomParty(room));
    await this.broadcast(ctx, room, T.joined(ctx.input.from.user));
  }

  private async join(ctx: Context, param: string | undefined): Promise<void> {
    const name = this.roomName(ctx, param, USAGE.join);
    let room =
      name.domain === this.opts.domain ? await this.store.getRoom(name.user, name.domain) : undefined;
    if (!room) {
      if (!this.opts.createOnJoin || name.domain !== this.opts.domain) throw new Refusal(T.ROOM_NOT_FOUND);
      if (await this.newRoom(ctx, name, 0)) return;
      room = await this.store.getRoom(name.user, name.domain);
      if (!room) throw new Refusal(T.ROOM_NOT_FOUND);
    }
    const m = await this.store.getMember(room.id, ctx.input.from);
    if (m && !isInvited(m)) throw new Refusal(T.ALREADY_JOINED, roomParty(room));
    // An invited user joining accepts the invitation (imc clears the invited flag the same way).
    if (m) return this.acceptInvitation(ctx, room, m);
    if (room.flag & ROOM_PRIVATE) {
      ctx.out.push({ to: ctx.input.from, from: roomParty(room), body: T.PRIVATE_BY_INVITATION });
      return this.broadcast(ctx, room, T.joinAttempt(ctx.input.from.user));
    }
    await this.admit(ctx, room);
  }

  private async invite(ctx: Context, userParam: string, roomParam: string | undefined): Promise<void> {
    const who = this.user(userParam);
    const room = await this.findRoom(ctx, roomParam, USAGE.invite);
    const me = await this.member(ctx, room);
    if (!canManage(me)) throw new Refusal(T.INVITE_REFUSED, roomParty(room));
    const there = await this.store.getMember(room.id, who);
    if (there)
      throw new Refusal(
        isInvited(there) ? T.alreadyInvited(who.user) : T.alreadyMember(who.user),
        roomParty(room),
      );
    if (await this.roomFull(room)) throw new Refusal(T.ROOM_FULL, roomParty(room));
    if (!(await this.store.addMember(room.id, who, MEMBER_INVITED)))
      throw new Refusal(T.alreadyInvited(who.user), roomParty(room));
    ctx.out.push({
      to: who,
      from: roomParty(room),
      body: T.invitation(ctx.input.from.user, this.opts.commandChar),
      invitation: { room, inviter: ctx.input.from },
    });
  }

  private async add(ctx: Context, userParam: string, roomParam: string | undefined): Promise<void> {
    const who = this.user(userParam);
    const room = await this.findRoom(ctx, roomParam, USAGE.add);
    const me = await this.member(ctx, room);
    if (!canManage(me)) throw new Refusal(T.ADD_REFUSED, roomParty(room));
    const there = await this.store.getMember(room.id, who);
    if (there && !isInvited(there)) throw new Refusal(T.alreadyMember(who.user), roomParty(room));
    if (there) await this.store.setMemberFlag(room.id, who, there.flag & ~MEMBER_INVITED);
    else {
      if (await this.roomFull(room)) throw new Refusal(T.ROOM_FULL, roomParty(room));
      if (!(await this.store.addMember(room.id, who, 0)))
        throw new Refusal(T.alreadyMember(who.user), roomParty(room));
    }
    await this.broadcast(ctx, room, T.joined(who.user));
  }

  private async acceptInvitation(ctx: Context, room: ImcRoom, m: ImcMember): Promise<void> {
    await this.store.setMemberFlag(room.id, ctx.input.from, m.flag & ~MEMBER_INVITED);
    await this.broadcast(ctx, room, T.joined(ctx.input.from.user));
  }

  private async accept(ctx: Context, param: string | undefined): Promise<void> {
    const room = await this.findRoom(ctx, param, USAGE.accept);
    const m = await this.store.getMember(room.id, ctx.input.from);
    if (!m || !isInvited(m)) throw new Refusal(T.NOT_INVITED, roomParty(room));
    await this.acceptInvitation(ctx, room, m);
  }

  private async reject(ctx: Context, param: string | undefined): Promise<void> {
    const room = await this.findRoom(ctx, param, USAGE.reject);
    const m = await this.store.getMember(room.id, ctx.input.from);
    if (!m || !isInvited(m)) throw new Refusal(T.NOT_INVITED, roomParty(room));
    // Kamailio's imc answers nothing to a rejection; neither do we.
    await this.store.removeMember(room.id, ctx.input.from);
  }

  private async remove(ctx: Context, userParam: string, roomParam: string | undefined): Promise<void> {
    const who = this.user(userParam);
    const room = await this.findRoom(ctx, roomParam, USAGE.remove);
    const me = await this.member(ctx, room);
    if (!canManage(me)) throw new Refusal(T.REMOVE_REFUSED, roomParty(room));
    const target = await this.store.getMember(room.id, who);
    if (!target) throw new Refusal(T.notAMember(who.user), roomParty(room));
    if (isOwner(target)) throw new Refusal(T.OWNER_NOT_REMOVABLE, roomParty(room));
    ctx.out.push({ to: who, from: roomParty(room), body: T.REMOVED });
    await this.store.removeMember(room.id, who);
    await this.broadcast(ctx, room, T.left(who.user));
  }

  private async leave(ctx: Context, param: string | undefined): Promise<void> {
    const room = await this.findRoom(ctx, param, USAGE.leave);
    const me = await this.member(ctx, room, true);
    if (isOwner(me)) {
      if (this.opts.ownerLeave === 'refuse')
        throw new Refusal(T.OWNER_CANNOT_LEAVE(this.opts.commandChar), roomParty(room));
      return this.destroyRoom(ctx, room);
    }
    if (!isInvited(me)) await this.broadcast(ctx, room, T.left(ctx.input.from.user));
    await this.store.removeMember(room.id, ctx.input.from);
  }

  private async members(ctx: Context, param: string | undefined): Promise<void> {
    const room = await this.findRoom(ctx, param, USAGE.members);
    await this.member(ctx, room, true);
    const list = (await this.store.listMembers(room.id)).filter((m) => !isInvited(m));
    ctx.out.push({
      to: ctx.input.from,
      from: roomParty(room),
      body: T.membersText(list.map((m) => ({ user: m.user, role: roleOf(m.flag) }))),
    });
  }

  private async destroy(ctx: Context, param: string | undefined): Promise<void> {
    const room = await this.findRoom(ctx, param, USAGE.destroy);
    const me = await this.member(ctx, room);
    if (!isOwner(me)) throw new Refusal(T.DESTROY_REFUSED, roomParty(room));
    await this.destroyRoom(ctx, room);
  }

  private async destroyRoom(ctx: Context, room: ImcRoom): Promise<void> {
    await this.broadcast(ctx, room, T.ROOM_DESTROYED);
    await this.store.deleteRoom(room.id);
  }

  private async modify(
    ctx: Context,
    userParam: string,
    roleParam: string,
    roomParam: string | undefined,
  ): Promise<void> {
    const role = parseRole(roleParam);
    if (!role) throw new Refusal(T.badRole(clip(roleParam)));
    const who = this.user(userParam);
    const room = await this.findRoom(ctx, roomParam, USAGE.modify);
    const me = await this.member(ctx, room);
    if (!canManage(me)) throw new Refusal(T.MODIFY_REFUSED, roomParty(room));
    const target = await this.store.getMember(room.id, who);
    if (!target || isInvited(target)) throw new Refusal(T.notAMember(who.user), roomParty(room));
    if ((role === 'owner' || isOwner(target)) && !isOwner(me))
      throw new Refusal(T.OWNER_ONLY_BY_OWNER, roomParty(room));
    await this.store.setMemberFlag(room.id, who, flagOf(role));
    await this.broadcast(ctx, room, T.modified(who.user, role));
  }
}

/** Per-request state: the input and the messages gathered so far. */
class Context {
  out: Outgoing[] = [];
  readonly toManager: boolean;

  constructor(
    readonly input: ConferenceInput,
    opts: ConferenceOptions,
  ) {
    this.toManager = input.to.user.toLowerCase() === opts.manager.toLowerCase();
  }

  /** A reply from the address the command was sent to. */
  reply(body: string): void {
    this.out.push({ to: this.input.from, from: this.input.to, body });
  }
}

/**
 * An invitation could not be delivered (final status >= 300): the invitee is dropped again and the inviter
 * told, as imc does. Returns the notice to send.
 */
export async function invitationFailed(
  store: ImcStore,
  invitation: { room: ImcRoom; inviter: Party },
  invitee: Party,
): Promise<Outgoing[]> {
  const m = await store.getMember(invitation.room.id, invitee);
  if (!m || !isInvited(m)) return [];
  await store.removeMember(invitation.room.id, invitee);
  return [
    {
      to: invitation.inviter,
      from: roomParty(invitation.room),
      body: T.notRegistered(invitee.user, invitee.domain),
    },
  ];
}
