// The API's shapes (design §6), as the dashboard reads them.

export type Plan = 'free' | 'pro' | 'enterprise'

export interface QuietHours {
  start: string
  end: string
}

export interface Tenant {
  id: string
  name: string
  plan: Plan
  defaultCountry: string
  timezone: string
  quietHours: QuietHours | null
  createdAt?: string
}

export interface Me {
  tenant: Tenant
  rateLimit: { limit: number; remaining: number; resetSeconds: number }
}

export interface CreatedTenant {
  id: string
  name: string
  plan: Plan
  defaultCountry: string
  timezone: string
  apiKey: string
}

export interface InstanceLimits {
  messagesPerMinute: number
  minDelayMs: number
  maxDelayMs: number
  hourlyCap: number
  dailyCap: number
  warmupDays: number
  maxInFlight: number
}

export interface Instance extends InstanceLimits {
  id: string
  name: string
  baseUrl: string
  createdAt: string
  webhookUrl: string
  session?: { connected: boolean; loggedIn: boolean } | null
  /** Why session is null (design §6.3 calls it a reason; the API names it sessionError). */
  reason?: string
  sessionError?: string
}

export type ImportStatus = 'pending' | 'running' | 'completed' | 'failed'

export interface ImportTicket {
  importId: string
  uploadUrl: string
  method: string
  headers: Record<string, string>
  expiresAt: string
  maxBytes: number
}

export interface ImportJob {
  id: string
  status: ImportStatus
  fileName?: string
  rowsTotal: number
  imported: number
  updated: number
  rejected: number
  progress: number
  error: string | null
  rejectedRowsUrl?: string | null
  createdAt?: string
}

export interface Contact {
  id: string
  phone: string
  name: string | null
  attributes: Record<string, unknown> | null
  optedOutAt: string | null
  createdAt: string
  updatedAt: string
}

export type CampaignState = 'scheduled' | 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled'

export interface Counts {
  total: number
  pending: number
  sending: number
  sent: number
  delivered: number
  read: number
  failed: number
  skipped: number
  unknown: number
}

export interface Campaign {
  id: string
  name: string | null
  instanceId: string
  message: string
  state: CampaignState
  reason: string | null
  scheduledAt: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  counts: Counts
}

export interface CampaignCreated {
  jobId: string
  status: 'queued' | 'scheduled'
  contactCount: number
  skipped: number
  invalid: { index: number; phone: string; code: string }[]
  /** Variables the message uses that some recipients have no value for (when the API reports them). */
  missingVars?: string[]
}

export interface CampaignStatus {
  jobId: string
  state: CampaignState
  progress: number
  result: { processed: number; failed: number; total: number }
}

export interface TimelinePoint {
  at: string
  sent: number
  delivered: number
  read: number
  failed: number
}

export type RecipientStatus = 'pending' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'skipped' | 'unknown'

export interface Recipient {
  phone: string
  contactId: string | null
  status: RecipientStatus
  attempts: number
  lastError: string | null
  messageId: string | null
  sentAt: string | null
  deliveredAt: string | null
  readAt: string | null
}

export type ReportStatus = 'pending' | 'running' | 'completed' | 'failed'

export interface Report {
  id: string
  type: 'campaign' | 'contacts'
  status: ReportStatus
  rows: number
  progress: number
  error: string | null
  downloadUrl: string | null
  expiresAt: string | null
}

/** The safe defaults of design §7 (from the ban evidence of wuzapi-api.md §6). */
export const SAFE_LIMITS: InstanceLimits = {
  messagesPerMinute: 2,
  minDelayMs: 45000,
  maxDelayMs: 90000,
  hourlyCap: 30,
  dailyCap: 200,
  warmupDays: 10,
  maxInFlight: 1,
}
