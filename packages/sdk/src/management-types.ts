/**
 * The management API's resources as its REST/JSON form returns them (proto field names in
 * snake_case, timestamps as RFC 3339 strings). Fields the server may omit are optional.
 */

export interface Organization {
  id: string;
  display_name?: string;
  external_id?: string;
  metadata?: Record<string, string>;
  slug?: string;
  logo_url?: string;
  region_code?: string;
  create_time?: string;
  update_time?: string;
}

export interface OrganizationInput {
  display_name?: string;
  external_id?: string;
  metadata?: Record<string, string>;
  slug?: string;
  logo_url?: string;
}

export interface RoleRef {
  id?: string;
  name: string;
  display_name?: string;
}

export interface OrganizationMembership {
  organization_id: string;
  roles?: RoleRef[];
  membership_status?: string;
  name?: string;
  display_name?: string;
  metadata?: Record<string, string>;
  join_time?: string;
}

export interface UserProfile {
  id?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  email_verified?: boolean;
  phone_number?: string;
  metadata?: Record<string, string>;
  picture?: string;
  locale?: string;
}

export interface User {
  id: string;
  email?: string;
  external_id?: string;
  environment_id?: string;
  memberships?: OrganizationMembership[];
  user_profile?: UserProfile;
  metadata?: Record<string, string>;
  create_time?: string;
  update_time?: string;
  last_login_time?: string;
}

export interface UserInput {
  external_id?: string;
  user_profile?: Partial<
    Pick<
      UserProfile,
      'given_name' | 'family_name' | 'name' | 'phone_number' | 'metadata' | 'locale' | 'picture'
    >
  >;
  metadata?: Record<string, string>;
}

export interface NewUser {
  email: string;
  external_id?: string;
  user_profile?: Partial<
    Pick<
      UserProfile,
      'given_name' | 'family_name' | 'name' | 'phone_number' | 'metadata' | 'locale' | 'picture'
    >
  >;
  metadata?: Record<string, string>;
  membership?: { roles?: RoleRef[]; metadata?: Record<string, string> };
}

export interface Role {
  id?: string;
  name: string;
  display_name?: string;
  description?: string;
  default_creator?: boolean;
  default_member?: boolean;
  extends?: string;
  permissions?: Array<{ id?: string; name: string; description?: string; role_name?: string }>;
  is_org_role?: boolean;
}

export interface RoleInput {
  name?: string;
  display_name?: string;
  description?: string;
  extends?: string;
  permissions?: string[];
}

export interface Permission {
  id?: string;
  name: string;
  description?: string;
  create_time?: string;
  update_time?: string;
}

export interface Session {
  session_id: string;
  user_id: string;
  organization_id?: string;
  authenticated_organizations?: string[];
  status?: string;
  created_at?: string;
  updated_at?: string;
  last_active_at?: string;
  idle_expires_at?: string;
  absolute_expires_at?: string;
  expired_at?: string;
  logout_at?: string;
  authenticated_clients?: Array<{ client_id?: string }>;
  device?: Record<string, unknown>;
}

/** One page of a listing; pass `next_page_token` back as `pageToken` for the next. */
export interface PageOf<T> {
  items: T[];
  next_page_token: string;
  prev_page_token: string;
  total_size: number;
}

export interface PageOptions {
  /** 1–100. */
  pageSize?: number;
  pageToken?: string;
}
