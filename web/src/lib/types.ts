// The API's shapes as the dashboard reads them: names for the schemas of
// internal/httpapi/openapi.json, whose TypeScript form api.gen.ts is written by
// `npm run gen:types` (run by every build and type check, never edited by hand).
import type { components } from './api.gen'

type Schemas = components['schemas']

export type Plan = Schemas['Tenant']['plan']
export type QuietHours = Schemas['QuietHours']
export type Tenant = Schemas['Tenant']
export type Me = Schemas['Me']
export type CreatedTenant = Schemas['CreatedTenant']
export type Instance = Schemas['Instance']
/** The message limits of an instance (the sending-safety fields are SafetySettings, lib/health.ts). */
export type InstanceLimits = Required<Pick<Schemas['InstancePatch'], 'messagesPerMinute' | 'minDelayMs' | 'maxDelayMs' | 'hourlyCap' | 'dailyCap' | 'warmupDays' | 'maxInFlight'>>
export type InstanceHealth = Schemas['InstanceHealth']
export type ImportStatus = Schemas['Import']['status']
export type ImportTicket = Schemas['ImportCreated']
export type ImportJob = Schemas['Import']
export type Media = Schemas['Media']
export type MediaCreated = Schemas['MediaCreated']
export type Contact = Schemas['Contact']
export type CampaignState = Schemas['Campaign']['state']
export type Counts = Schemas['Campaign']['counts']
export type Campaign = Schemas['Campaign']
export type CampaignCreated = Schemas['CampaignCreated']
export type CampaignStatus = Schemas['CampaignStatus']
export type TimelinePoint = Schemas['Timeline']['items'][number]
export type RecipientStatus = Schemas['Recipient']['status']
export type Recipient = Schemas['Recipient']
export type ReportStatus = Schemas['Report']['status']
export type Report = Schemas['Report']
export type Reply = Schemas['Reply']
export type WebhookEndpoint = Schemas['WebhookEndpoint']
export type WebhookEndpointCreated = Schemas['WebhookEndpointCreated']
export type WebhookDelivery = Schemas['WebhookDelivery']
export type WebhookEvent = Schemas['WebhookEndpoint']['events'][number]

/** The safe defaults an instance gets when its form is left as it is (the API's own defaults). */
export const SAFE_LIMITS: InstanceLimits = {
  messagesPerMinute: 2,
  minDelayMs: 45000,
  maxDelayMs: 90000,
  hourlyCap: 30,
  dailyCap: 200,
  warmupDays: 10,
  maxInFlight: 1,
}
