/** Table types of the SQL store (kysely's typed schema). */
import type { Generated } from 'kysely';

/** Room flags, bit values as Kamailio's imc uses them. */
export const ROOM_PRIVATE = 1;

/** Member flags, bit values as Kamailio's imc uses them. */
export const MEMBER_OWNER = 1;
export const MEMBER_ADMIN = 2;
export const MEMBER_INVITED = 4;

export interface ImcRoomsTable {
  id: Generated<number>;
  name: string;
  domain: string;
  flag: number;
}

export interface ImcMembersTable {
  id: Generated<number>;
  room_id: number;
  username: string;
  domain: string;
  flag: number;
}

export interface StoreSchema {
  imc_rooms: ImcRoomsTable;
  imc_members: ImcMembersTable;
}
