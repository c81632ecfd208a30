/**
 * The case event types, as a runtime list for adapter settings (adapters see the core only through
 * src/ports, which exports the type but not the list). Typed as a record over the port's type, so
 * the compiler fails here when the lifecycle gains or loses an event type.
 */
import type { FollowUp } from '../../src/ports/region-adapter.js'

export type EventType = FollowUp['type']

const all: Record<EventType, true> = {
  submitted: true,
  dispatched: true,
  delivery_failed: true,
  redriven: true,
  materials_shipped: true,
  materials_received: true,
  accepted: true,
  rejected: true,
  supplement_requested: true,
  supplement_provided: true,
  in_review: true,
  suspended: true,
  resumed: true,
  inspection_scheduled: true,
  inspection_completed: true,
  completed: true,
  recognized: true,
  recognition_failed: true,
  result_delivered: true,
  rated: true,
  closed: true,
  withdrawn: true,
  deadline_warning: true,
  overdue: true,
  materials_overdue: true,
}

export const eventTypes = Object.keys(all) as [EventType, ...EventType[]]
