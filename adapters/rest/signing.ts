/**
 * The request signature of the data-sharing platforms: `X-Signature` = hex HMAC-SHA256(secret,
 * `${appKey}\n${timestamp}\n${nonce}\n${body}`), with the timestamp in milliseconds and a random 16-hex-digit
 * nonce; `body` is the exact body sent, empty for GET.
 */
import { createHmac, randomBytes } from 'node:crypto'

export function restSignature(secret: string, appKey: string, timestamp: string, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${appKey}\n${timestamp}\n${nonce}\n${body}`).digest('hex')
}

export function signedHeaders(appKey: string, secret: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = String(now)
  const nonce = randomBytes(8).toString('hex')
  return {
    'x-app-key': appKey,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': restSignature(secret, appKey, timestamp, nonce, body),
  }
}
