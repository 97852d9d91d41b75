/** Room and member listings for operators (HTTP JSON and the `sipmedia imc rooms|members` sub-commands). */
import type { ImcStore } from '../../store/imc-store.js';
import { ROOM_PRIVATE } from '../../store/schema.js';
import { type Role, isInvited, roleOf } from './roles.js';

export interface RoomInfo {
  name: string;
  domain: string;
  private: boolean;
  members: number;
}

export interface MemberInfo {
  user: string;
  domain: string;
  role: Role;
  invited: boolean;
}

export async function listRooms(store: ImcStore, domain?: string): Promise<RoomInfo[]> {
  return (await store.listRooms(domain)).map((r) => ({
    name: r.name,
    domain: r.domain,
    private: (r.flag & ROOM_PRIVATE) !== 0,
    members: r.members,
  }));
}

/** Members of a room (undefined when there is no such room). */
export async function listMembers(
  store: ImcStore,
  room: string,
  domain: string,
): Promise<MemberInfo[] | undefined> {
  const r = await store.getRoom(room, domain);
  if (!r) return undefined;
  return (await store.listMembers(r.id)).map((m) => ({
    user: m.user,
    domain: m.domain,
    role: roleOf(m.flag),
    invited: isInvited(m),
  }));
}
