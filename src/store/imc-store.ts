/**
 * Rooms and members of the IM conferencing service in SQL. Every call reads or writes the database, so
 * several imc nodes sharing one PostgreSQL/MySQL see the same rooms and members.
 */
import { type Kysely, sql } from 'kysely';
import { MEMBER_INVITED, type StoreSchema } from './schema.js';
import { isUniqueViolation } from './sql.js';

export interface ImcRoom {
  id: number;
  name: string;
  domain: string;
  flag: number;
}

export interface ImcMember {
  id: number;
  roomId: number;
  user: string;
  domain: string;
  flag: number;
}

export interface ImcRoomSummary extends ImcRoom {
  members: number;
}

/** A SIP identity: user@domain. */
export interface Party {
  user: string;
  domain: string;
}

type MemberRow = { id: number; room_id: number; username: string; domain: string; flag: number };

const toMember = (r: MemberRow): ImcMember => ({
  id: Number(r.id),
  roomId: Number(r.room_id),
  user: r.username,
  domain: r.domain,
  flag: Number(r.flag),
});

const toRoom = (r: { id: number; name: string; domain: string; flag: number }): ImcRoom => ({
  id: Number(r.id),
  name: r.name,
  domain: r.domain,
  flag: Number(r.flag),
});

export class ImcStore {
  constructor(private readonly db: Kysely<StoreSchema>) {}

  async getRoom(name: string, domain: string): Promise<ImcRoom | undefined> {
    const r = await this.db
      .selectFrom('imc_rooms')
      .selectAll()
      .where('name', '=', name)
      .where('domain', '=', domain)
      .executeTakeFirst();
    return r ? toRoom(r) : undefined;
  }

  /**
   * Creates a room with its owner as first member, in one transaction. Returns undefined when the room exists
   * already (also when another node created it a moment ago).
   */
  async createRoom(
    name: string,
    domain: string,
    flag: number,
    owner: Party,
    ownerFlag: number,
  ): Promise<ImcRoom | undefined> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('imc_rooms').values({ name, domain, flag }).execute();
        const room = await trx
          .selectFrom('imc_rooms')
          .selectAll()
          .where('name', '=', name)
          .where('domain', '=', domain)
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('imc_members')
          .values({ room_id: room.id, username: owner.user, domain: owner.domain, flag: ownerFlag })
          .execute();
        return toRoom(room);
      });
    } catch (e) {
      if (isUniqueViolation(e)) return undefined;
      throw e;
    }
  }

  /** Deletes a room and its members. */
  async deleteRoom(roomId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('imc_members').where('room_id', '=', roomId).execute();
      await trx.deleteFrom('imc_rooms').where('id', '=', roomId).execute();
    });
  }

  /** Rooms (of one domain, or all) with their member counts (invited users not counted), by name. */
  async listRooms(domain?: string): Promise<ImcRoomSummary[]> {
    let q = this.db
      .selectFrom('imc_rooms')
      .leftJoin('imc_members', (j) =>
        j
          .onRef('imc_members.room_id', '=', 'imc_rooms.id')
          .on(sql<boolean>`(imc_members.flag & ${sql.lit(MEMBER_INVITED)}) = 0`),
      )
      .select((eb) => [
        'imc_rooms.id',
        'imc_rooms.name',
        'imc_rooms.domain',
        'imc_rooms.flag',
        eb.fn.count<number>('imc_members.id').as('members'),
      ])
      .groupBy(['imc_rooms.id', 'imc_rooms.name', 'imc_rooms.domain', 'imc_rooms.flag'])
      .orderBy('imc_rooms.name')
      .orderBy('imc_rooms.domain');
    if (domain !== undefined) q = q.where('imc_rooms.domain', '=', domain);
    const rows = await q.execute();
    return rows.map((r) => ({ ...toRoom(r), members: Number(r.members) }));
  }

  async countRooms(): Promise<number> {
    const r = await this.db
      .selectFrom('imc_rooms')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async getMember(roomId: number, who: Party): Promise<ImcMember | undefined> {
    const r = await this.db
      .selectFrom('imc_members')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('username', '=', who.user)
      .where('domain', '=', who.domain)
      .executeTakeFirst();
    return r ? toMember(r) : undefined;
  }

  /** Members including invited ones, in the order they came in. */
  async listMembers(roomId: number): Promise<ImcMember[]> {
    const rows = await this.db
      .selectFrom('imc_members')
      .selectAll()
      .where('room_id', '=', roomId)
      .orderBy('id')
      .execute();
    return rows.map(toMember);
  }

  async countMembers(roomId: number): Promise<number> {
    const r = await this.db
      .selectFrom('imc_members')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('room_id', '=', roomId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Adds a member; false when already there (or the room vanished meanwhile). */
  async addMember(roomId: number, who: Party, flag: number): Promise<boolean> {
    try {
      const room = await this.db
        .selectFrom('imc_rooms')
        .select('id')
        .where('id', '=', roomId)
        .executeTakeFirst();
      if (!room) return false;
      await this.db
        .insertInto('imc_members')
        .values({ room_id: roomId, username: who.user, domain: who.domain, flag })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async setMemberFlag(roomId: number, who: Party, flag: number): Promise<void> {
    await this.db
      .updateTable('imc_members')
      .set({ flag })
      .where('room_id', '=', roomId)
      .where('username', '=', who.user)
      .where('domain', '=', who.domain)
      .execute();
  }

  async removeMember(roomId: number, who: Party): Promise<void> {
    await this.db
      .deleteFrom('imc_members')
      .where('room_id', '=', roomId)
      .where('username', '=', who.user)
      .where('domain', '=', who.domain)
      .execute();
  }
}
