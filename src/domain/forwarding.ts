/**
 * Which event types may travel between the two sides of a case (services/dispatch/forward.ts decides where a
 * given event of a given case goes). A type that never travels (a delivery's own `dispatched`, the gateway's
 * bookkeeping) queues no `case.event` job: the forwarding worker would only find that it stays here.
 */
import { type EventType, eventSide } from './lifecycle.js'

/** Event types that may go to the processing side (when the case was delivered there), and back to the origin. */
export const forwardableTypes: { toProcessing: EventType[]; toOrigin: EventType[] } = (() => {
  const notices: EventType[] = ['deadline_warning', 'overdue', 'materials_overdue']
  const all = Object.keys(eventSide) as EventType[]
  return {
    toProcessing: [...all.filter((t) => eventSide[t] === 'origin'), ...notices, 'recognition_failed'],
    toOrigin: [...all.filter((t) => eventSide[t] === 'processing'), 'completed'],
  }
})()

const travelling = new Set<EventType>([...forwardableTypes.toProcessing, ...forwardableTypes.toOrigin])

/**
 * Whether an event of this type may go anywhere, for some case; false: it stays on this gateway for every case.
 * @example travels('accepted') // true; travels('dispatched') // false
 */
export function travels(type: EventType): boolean {
  return travelling.has(type)
}
