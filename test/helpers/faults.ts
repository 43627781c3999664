/**
 * Fault injection shared by the fake chat APIs and the SMTP server. A plan is asked
 * about each request before the fake handles it; a request it fails is never
 * processed, so nothing it carried is stored, and it cannot count as delivered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** How one request fails. */
export type Fault =
  /** Answered with this status (an SMTP reply code on the mail server); a 429 says `Retry-After: retryAfterS`. */
  | { kind: 'status'; status: number; retryAfterS?: number }
  /** Never answered: only the client's own timeout ends it. */
  | { kind: 'hang' }
  /** The connection is cut without an answer. */
  | { kind: 'drop' };

/**
 * Decides the fate of one request, named the way its fake names requests
 * (`sendMessage`, `chat.postMessage`, `POST /channels/1/messages`, SMTP `connect`
 * or `data`). `undefined` handles it normally.
 */
export type FaultPlan = (request: string) => Fault | undefined;

/**
 * Carries out a hang or a drop on an HTTP exchange and returns true; returns false
 * for a status fault, which each fake answers in its own platform's shape.
 */
export function cutShort(fault: Fault, req: IncomingMessage, res: ServerResponse): boolean {
  if (fault.kind === 'drop') {
    req.socket.destroy();
    return true;
  }
  if (fault.kind === 'hang') {
    // The body is read, so the client sees a server that took the request and went quiet.
    req.resume();
    res.on('error', () => undefined);
    return true;
  }
  return false;
}

/** A gateway error page as a proxy in front of an API sends it: HTML, not the API's JSON. */
export function errorPage(status: number): string {
  return `<html><head><title>${status}</title></head><body><center><h1>${status}</h1></center></body></html>`;
}
