/** Member roles and what each may do, as imc has them: owner and admins manage members; the owner destroys. */
import { MEMBER_ADMIN, MEMBER_INVITED, MEMBER_OWNER } from '../../store/schema.js';
import type { ImcMember } from '../../store/imc-store.js';

export type Role = 'owner' | 'admin' | 'member';

export function roleOf(flag: number): Role {
  if (flag & MEMBER_OWNER) return 'owner';
  if (flag & MEMBER_ADMIN) return 'admin';
  return 'member';
}

export function flagOf(role: Role): number {
  return role === 'owner' ? MEMBER_OWNER : role === 'admin' ? MEMBER_ADMIN : 0;
}

export function parseRole(s: string): Role | undefined {
  const r = s.toLowerCase();
  return r === 'owner' || r === 'admin' || r === 'member' ? r : undefined;
}

export const isInvited = (m: ImcMember): boolean => (m.flag & MEMBER_INVITED) !== 0;
export const isOwner = (m: ImcMember): boolean => (m.flag & MEMBER_OWNER) !== 0;

/** Owner or admin (and not merely invited): may invite, add, remove and modify. */
export function canManage(m: ImcMember): boolean {
  return !isInvited(m) && (m.flag & (MEMBER_OWNER | MEMBER_ADMIN)) !== 0;
}
